"""seed_demo: the six markets with their parameters, the demo users, six proposals; idempotent."""

from io import StringIO

from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from eth_utils import is_checksum_address

from governance.models import AuditLog, GovernancePolicy, Guardrail, Member
from proposals.models import Market, ParameterSetVersion, Proposal
from review.management.commands.seed_demo import DEMO_PASSWORD
from scenarios.services import pack_for_market


def counts() -> dict[str, int]:
    models = [
        Market,
        ParameterSetVersion,
        Proposal,
        Guardrail,
        GovernancePolicy,
        Member,
        get_user_model(),
        AuditLog,
    ]
    return {m.__name__: m.objects.count() for m in models}


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_creates_the_six_markets_users_and_six_proposals(db):
    output = seed()
    assert set(Market.objects.values_list("mechanism", flat=True)) == {
        "aave-v3",
        "aave-v4",
        "compound-v3",
        "maker-clip",
        "perp",
        "morpho-blue",
    }
    assert all(m.live_version is not None for m in Market.objects.all())
    roles = sorted(Member.objects.values_list("role", flat=True))
    assert roles == ["administrator", "contributor"] + ["voter"] * 5
    assert sorted(Proposal.objects.values_list("status", flat=True)) == [
        "backtesting",
        "backtesting",
        "backtesting",
        "backtesting",
        "backtesting",
        "draft",
    ]
    # The Comet market's proposal is backtested on WETH and WBTC together.
    comet = Proposal.objects.get(market__mechanism="compound-v3")
    assert "WBTC" in comet.title and comet.market.target["asset_order"] == ["WETH", "WBTC"]
    assert "backtest_asset" not in comet.market.target
    assert authenticate(username="contributor", password=DEMO_PASSWORD) is not None
    assert get_user_model().objects.get(username="admin").is_staff
    assert "contributor" in output and DEMO_PASSWORD in output and "voter5" in output


def test_running_seed_demo_twice_duplicates_nothing(db):
    seed()
    first = counts()
    seed()
    assert counts() == first


def test_the_seeded_markets_carry_their_published_style_parameters_and_checksummed_addresses(db):
    seed()
    aave = Market.objects.get(mechanism="aave-v3").live_version.values
    assert (aave["ltv"], aave["liquidation_threshold"], aave["liquidation_bonus"]) == (
        "0.805",
        "0.83",
        "0.05",
    )
    comet = Market.objects.get(mechanism="compound-v3")
    assets = comet.live_version.values["assets"]
    assert (assets["WBTC"]["borrow_collateral_factor"], assets["WBTC"]["liquidate_collateral_factor"]) == (
        "0.7",
        "0.77",
    )
    assert comet.collateral_target("WBTC") == {
        "comet": "0xc3d688B66703497DAA19211EEdff47f25384cdc3",
        "asset": "0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599",
        "decimals": 8,
    }
    maker = Market.objects.get(mechanism="maker-clip").live_version.values
    assert (maker["hole"], maker["tail"], maker["cusp"]) == ("40000000", "8400", "0.4")
    assert len(Market.objects.get(mechanism="perp").live_version.values["tiers"]) == 3
    vault = Market.objects.get(mechanism="morpho-blue")
    markets = vault.live_version.values["markets"]
    assert {k: m["lltv"] for k, m in markets.items()} == {"wstETH-86": "0.86", "wstETH-945": "0.945"}
    moved = Proposal.objects.get(market=vault).proposed_version.values["markets"]
    assert (moved["wstETH-86"]["vault_supply"], moved["wstETH-945"]["vault_supply"]) == (
        "100000000",
        "40000000",
    )
    for market in Market.objects.all():
        for address in list(market.contracts.values()):
            assert is_checksum_address(address), (market.slug, address)


def test_the_aave_v4_spoke_carries_the_docs_example_values_its_spokes_adapter_and_a_proposal(db):
    seed()
    spoke = Market.objects.get(mechanism="aave-v4")
    spoke.full_clean()
    v = spoke.live_version.values
    assert (v["collateral_factor"], v["max_liquidation_bonus"], v["health_factor_for_max_bonus"]) == (
        "0.8",
        "1.05",
        "0.85",
    )
    assert (v["target_health_factor"], v["liquidation_bonus_factor"], v["liquidation_fee"]) == (
        "1.05",
        "0.8",
        "0.1",
    )
    assert spoke.contracts == {"spoke": spoke.custom_adapter["contract"]}
    functions = [f["name"] for f in spoke.custom_adapter["abi"]]
    assert functions == ["updateDynamicReserveConfig", "updateLiquidationConfig"]
    proposal = Proposal.objects.get(market=spoke)
    assert proposal.status == "backtesting"
    assert proposal.proposed_version.values == {**v, "collateral_factor": "0.809"}
    assert Guardrail.objects.filter(market=spoke).count() == 6


def test_the_demo_perps_shocks_carry_a_premium_its_funding_reads_and_no_other_market_has_one(db):
    seed()
    for market in Market.objects.all():
        with_premium = [sc.spec["kind"] for sc in pack_for_market(market) if "premium" in sc.spec]
        assert with_premium == (["shock", "shock"] if market.mechanism == "perp" else []), market.slug
