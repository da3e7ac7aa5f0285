"""A Morpho Blue vault governed on the site: its schema (the demo's values pass, each breach is
refused on its field), the engine mapping, its book, and its proposal backtested in this
process and shown on its page."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from django.urls import reverse

from backtests.models import BacktestRun
from backtests.params import engine_params, engine_params_dict, unmodelled
from engine import morpho
from governance.models import Member
from proposals import schema
from proposals.export.abi import ExportError
from proposals.export.bundle import changed_keys, market_calls
from proposals.export.decode import decode_back, require_match
from proposals.services import create_draft
from review.management.commands.seed_demo import MARKETS, morpho_reallocation
from review.services import submit_proposal
from scenarios import services as scenario_services
from scenarios.services import decode_book
from tests.backtests.conftest import make_pack, scenario_spec, set_baseline
from tests.backtests.test_services import drive
from tests.proposals.factories import make_market, make_user
from tests.review.test_pages import client_for, form_data

SPEC = next(m for m in MARKETS if m["mechanism"] == "morpho-blue")


def _values(**changes: dict[str, str]) -> dict:
    markets = {k: {**m, **changes.get(k, {})} for k, m in SPEC["values"]["markets"].items()}
    return schema.normalize("morpho-blue", {"markets": markets})


def _problems(values: dict) -> list[schema.Violation]:
    return schema.validate("morpho-blue", values) or schema.check_target(
        "morpho-blue", values, SPEC["target"]
    )


def test_the_demo_vault_and_its_proposal_are_valid() -> None:
    assert _problems(_values()) == []
    proposed = schema.normalize("morpho-blue", morpho_reallocation(SPEC["values"]))
    assert _problems(proposed) == []


@pytest.mark.parametrize(
    ("changes", "key", "words"),
    [
        ({"wstETH-86": {"lltv": "0.87"}}, "markets.wstETH-86.lltv", "enabled LLTVs"),
        (
            {"wstETH-945": {"vault_supply": "60000000", "market_supply": "80000000"}},
            "markets.wstETH-945.vault_supply",
            "at most supply_cap",
        ),
        (
            {"wstETH-945": {"market_supply": "10000000"}},
            "markets.wstETH-945.market_supply",
            "at least vault_supply",
        ),
        (
            {"wstETH-86": {"lltv": "0.915"}},
            "markets.wstETH-86.lltv",
            "fixed when a Morpho Blue market is created",
        ),
    ],
)
def test_each_breach_is_refused_on_its_field(changes: dict, key: str, words: str) -> None:
    problems = _problems(_values(**changes))
    assert [p.key for p in problems] == [key]
    assert words in problems[0].message


def test_a_market_the_vault_does_not_have_or_a_missing_one_is_refused() -> None:
    values = _values()
    values["markets"]["wstETH-77"] = dict(values["markets"]["wstETH-86"], lltv=Decimal("0.77"))
    assert [p.key for p in _problems(values)] == ["markets.wstETH-77.lltv"]
    values = _values()
    del values["markets"]["wstETH-945"]
    assert [p.key for p in _problems(values)] == ["markets.wstETH-945.supply_cap"]


def test_the_mapping_gives_one_engine_market_per_market_in_label_order() -> None:
    d = engine_params_dict("morpho-blue", _values(), interval_seconds=3600)
    assert d == {
        "lltv": (0.86, 0.945),
        "market_supply_usd": (3e8, 4e7),
        "vault_cap_usd": (2e8, 5e7),
        "vault_supply_usd": (1.2e8, 2e7),
    }
    params = engine_params("morpho-blue", _values(), interval_seconds=3600)
    assert params.vault_share == (0.4, 0.5)
    assert "interest accrual" in unmodelled("morpho-blue")


@pytest.fixture
def vault(db, settings):
    settings.BACKTEST_N_BOOT = 20
    market = make_market("morpho-blue")
    generator = scenario_services.live_book_generator(market, price=2000.0, total_usd=5e7)
    assert generator["threshold"] == [0.86, 0.945]
    scenario_services.generate_book(market=market, n=400, seed=5, generator=generator)
    make_pack(market, [scenario_spec("calm", 0.6, 24), scenario_spec("storm", 2.5, 24, lam=40.0)])
    set_baseline(market, n_paths=12, chunk_paths=6, seed=7)
    return market


def test_the_vaults_book_spreads_positions_over_its_markets_each_healthy(vault) -> None:
    arrays = decode_book(scenario_services.default_book(vault).data)
    book = morpho.book_from_arrays(arrays)
    assert set(book.market.tolist()) == {0, 1}
    params = engine_params(
        "morpho-blue", schema.normalize("morpho-blue", SPEC["values"]), interval_seconds=3600
    )
    lltv = np.array(params.lltv)[book.market]
    assert np.all(book.collateral * 2000.0 * lltv >= book.debt)


def test_the_demo_reallocation_is_backtested_and_its_page_shows(
    vault, django_capture_on_commit_callbacks
) -> None:
    author = make_user("carol", Member.Role.CONTRIBUTOR)
    proposal = create_draft(
        author=author,
        market=vault,
        title="Move 20M USDC to the 94.5 % market",
        rationale="More of the vault where borrowers pay more.",
        values=morpho_reallocation(vault.live_version.values),
    )
    with django_capture_on_commit_callbacks(execute=False):
        submit_proposal(proposal=proposal, actor=author)
    run = drive(BacktestRun.objects.get(proposal=proposal), django_capture_on_commit_callbacks)
    assert run.manifest["mechanism"] == "morpho-blue"
    # Both scenarios stored for live and proposed.
    roles = set(run.results.values_list("scenario_index", "role"))
    assert {(0, "live"), (0, "proposed"), (1, "live"), (1, "proposed")} <= roles
    voter = make_user("vera", Member.Role.VOTER, power="10")
    response = client_for(voter).get(reverse("review:detail", args=[proposal.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Move 20M USDC to the 94.5 % market" in html
    assert "Borrowing power" in html


def test_the_vaults_form_has_one_field_per_market_parameter_and_refuses_a_new_lltv(db) -> None:
    market = make_market("morpho-blue")
    client = client_for(make_user("carol", Member.Role.CONTRIBUTOR))
    html = client.get(reverse("review:create", args=[market.slug])).content.decode()
    assert "wstETH-945: Vault supply (USD)" in html and "wstETH-86: Liquidation LTV (LLTV) (fraction)" in html
    data = form_data(market)
    data["p__markets__wstETH-86__lltv"] = "0.915"
    response = client.post(reverse("review:create", args=[market.slug]), data)
    assert (
        "wstETH-86: lltv is fixed when a Morpho Blue market is created; this market&#x27;s is 0.86, not 0.915."
        in response.content.decode()
    )
    data = form_data(market)
    data["p__markets__wstETH-945__vault_supply"] = "55000000"
    response = client.post(reverse("review:create", args=[market.slug]), data)
    assert "wstETH-945: vault_supply must be at most supply_cap (50000000); it is 55000000." in (
        response.content.decode()
    )


def test_a_cap_change_exports_submit_cap_and_a_reallocation_is_refused_at_export() -> None:
    market = {"mechanism": "morpho-blue", **{k: SPEC[k] for k in ("contracts", "target")}}
    market["custom_adapter"] = SPEC["safe"]["custom_adapter"]
    live = SPEC["values"]
    caps = {
        "markets": {
            **live["markets"],
            "wstETH-945": {**live["markets"]["wstETH-945"], "supply_cap": "80000000"},
        }
    }
    _, calls, _, flat_new = market_calls(market, live, caps)
    (call,) = calls
    assert call.signature == "submitCap((address,address,address,address,uint256),uint256)"
    assert call.args[1] == 80_000_000 * 10**6 and call.args[0][4] == 945 * 10**15
    require_match(decode_back(calls, flat_new), ["markets.wstETH-945.supply_cap"])
    # Moving supply is the allocator's reallocate(MarketAllocation[]), which the adapter does not
    # emit: the export refuses rather than leave the vote's allocation out.
    _, calls, flat_old, flat_new = market_calls(market, live, morpho_reallocation(live))
    with pytest.raises(
        ExportError, match="markets.wstETH-945.vault_supply: changed in the voted version, but no call"
    ):
        require_match(decode_back(calls, flat_new), changed_keys(flat_old, flat_new))
