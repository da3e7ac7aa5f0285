"""The "done when" flow in a real browser: an administrator imports the shared ETH hourly file,
builds the market's stress pack from it, edits the pack in the admin and previews every
scenario as a fan chart; the previews are the same on every load (seeded)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from proposals.models import Market
from scenarios.models import StressPack

pytestmark = pytest.mark.e2e


def test_admin_imports_eth_builds_a_pack_and_previews_each_scenario(
    demo_site, logged_in_page, prices_dir, page
):
    call_command("import_prices", str(prices_dir / "ETHUSDT_1h_binance_spot.csv"), "--symbol", "ETHUSDT")
    market = Market.objects.get(slug="aave-v3-ethereum-weth")

    # Not signed in: the pack form sends the visitor to the sign-in page.
    page.goto("/scenarios/pack/new/")
    assert "/accounts/login/" in page.url

    admin = logged_in_page("admin")
    admin.goto("/scenarios/")
    admin.click("text=Build a standard stress pack")
    admin.select_option("select[name=market]", label=market.name)
    admin.select_option("select[name=series]", label="ETHUSDT-1h")
    admin.click("text=Build pack")
    # Building the pack and drawing its eight previews (two GARCH fits) takes a few seconds.
    admin.wait_for_url("**/scenarios/pack/*/", timeout=90_000)
    # It replaces the demo's synthetic pack as the market's default.
    pack = StressPack.objects.get(market=market, name="Standard stress pack")
    assert pack.is_default and pack.entries.count() == 8
    assert list(StressPack.objects.filter(market=market, is_default=True)) == [pack]

    admin.goto("/scenarios/")
    admin.click("text=ETHUSDT-1h")
    assert admin.inner_text("[data-testid=rows]") == "70,448"
    assert admin.inner_text("[data-testid=gaps]") == "30 gaps, 127 missing bars"
    admin.wait_for_selector("#series-chart[data-rendered='1']")

    # The admin edits the pack: Black Thursday moves from first to last.
    admin.goto(f"/admin/scenarios/stresspack/{pack.pk}/change/")
    admin.fill("input[name=entries-0-position]", "99")
    admin.click("input[name=_save]")
    admin.wait_for_url("**/admin/scenarios/stresspack/")
    assert pack.ordered_scenarios()[-1].name.endswith("Black Thursday replay (thin depth, gas spike)")

    admin.goto(f"/scenarios/pack/{pack.pk}/")
    sections = admin.locator("[data-testid=pack-scenario]")
    assert sections.count() == 8
    admin.wait_for_function(
        "document.querySelectorAll(\"[data-testid=fan-chart][data-rendered='1']\").length == 8"
    )
    headings = admin.locator("[data-testid=pack-scenario] h2").all_inner_texts()
    assert headings[-1].startswith("8. ") and "Black Thursday" in headings[-1]
    kinds = " ".join(headings)
    for name in ("bootstrap", "GARCH-t fitted on 2022", "Merton jumps", "replay"):
        assert name in kinds
    # A simulated scenario's chart has the bands, the median and sample paths.
    garch = admin.locator("[data-testid=pack-scenario]").nth(4)
    assert "GARCH-t" in garch.locator("h2").inner_text()
    legend = garch.locator(".legendtext").all_text_contents()
    assert {"5%-95%", "25%-75%", "median", "sample paths"} <= set(legend)
    assert garch.locator(".scatterlayer .trace").count() == 2 * 2 + 5 + 1  # band edges, samples, median

    first = admin.inner_text("#charts-data")
    admin.reload()
    assert admin.inner_text("#charts-data") == first  # same seeds, same paths
