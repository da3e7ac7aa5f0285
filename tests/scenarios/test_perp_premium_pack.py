"""A perp market's stress packs carry the perp's premium over its index in their crash
scenarios; other markets' packs are as before; the scenario page states it."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from engine.scenarios.stress import CRASH_PREMIUM
from scenarios import services
from tests.proposals.factories import make_market

pytestmark = pytest.mark.django_db


def synthetic(mechanism: str) -> list:
    market = make_market(mechanism)
    services.create_synthetic_pack(
        market=market, asset="ETHUSD", start_price=3000.0, depth_usd=5e8, n_steps=48
    )
    return services.pack_for_market(market)


def test_a_perp_markets_synthetic_pack_gives_its_shocks_the_crash_premium_and_others_none() -> None:
    perp = synthetic("perp")
    assert [sc.spec.get("premium") is not None for sc in perp] == [sc.spec["kind"] == "shock" for sc in perp]
    assert all(sc.spec["premium"] == CRASH_PREMIUM for sc in perp if sc.spec["kind"] == "shock")
    lending = synthetic("aave-v3")
    assert all("premium" not in sc.spec for sc in lending)
    # The same seeds, the same prices: the premium comes from the same generator after them.
    crash = perp[-1]
    paths = services.generate_paths(crash, n_paths=4)
    assert paths.premium.shape == (4, 48)
    assert paths.prices.tobytes() == services.generate_paths(lending[-1], n_paths=4).prices.tobytes()
    assert services.generate_paths(lending[-1], n_paths=4).premium is None


def test_the_scenario_page_states_the_perps_premium(client) -> None:
    crash = synthetic("perp")[-1]
    client.force_login(get_user_model().objects.create_user("voter", password="pw-123456"))
    html = client.get(reverse("scenarios:scenario", args=[crash.pk])).content.decode()
    assert 'data-testid="premium"' in html
    assert "the perp's premium over its index" in html and "correlation 0.6" in html
    assert "−0.005 %" in html and "20.0 %" in html  # the mean, and the share closed an hour
    assert "shorts pay longs" in html  # its description
