"""In headless Chromium: an administrator exports the approved demo proposal from its page,
downloads the batch file, and safe_hashes on that file prints the hashes the page shows; the
decode-back table has a row with a tick for every changed parameter; a voter sees the same
export without the form. Screenshots go under the test's output folder; no console error."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from proposals.models import Export
from review.management.commands.seed_demo import DEMO_SAFE
from tests.review.test_export_demo import approve_the_demo_proposal
from tests.voting.test_browser import watch_console

pytestmark = pytest.mark.e2e


def test_an_administrator_exports_the_demo_proposal_and_the_downloaded_file_gives_the_pages_hashes(
    transactional_db, logged_in_page, tmp_path
):
    shots, errors = Path(tmp_path), []
    proposal = approve_the_demo_proposal(voting_seconds=8)

    page = logged_in_page("admin")
    watch_console(page, errors)
    page.goto(f"/proposals/{proposal.pk}/")
    assert page.input_value("#id_safe") == DEMO_SAFE
    assert page.input_value("#id_safe_version") == "1.3.0"
    page.fill("#id_nonce", "0")
    page.screenshot(path=str(shots / "admin-before-export.png"), full_page=True)
    page.click("#export-submit")
    page.wait_for_selector("#export-hashes")
    assert "Exported (export 1)." in page.inner_text(".messages")
    page.screenshot(path=str(shots / "admin-exported.png"), full_page=True)

    shown = {
        code.get_attribute("data-label"): code.inner_text()
        for code in page.query_selector_all("#export-hashes code.hash")
    }
    assert list(shown) == ["Domain hash", "Message hash", "safeTxHash"]
    assert shown["safeTxHash"] == Export.objects.get(proposal=proposal).safe_tx_hash
    ticks = {
        row.get_attribute("data-key"): row.query_selector("td.tick").inner_text()
        for row in page.query_selector_all("#export-decode-back tbody tr")
    }
    assert ticks == {"ltv": "\u2713", "liquidation_threshold": "\u2713", "liquidation_bonus": "\u2713"}

    with page.expect_download() as download:
        page.click("#download-batch")
    batch = tmp_path / download.value.suggested_filename
    download.value.save_as(batch)
    assert batch.name == f"proposal-{proposal.pk}-export-1-batch.json"
    out = StringIO()
    call_command(
        "safe_hashes",
        *("--batch", str(batch), "--safe", DEMO_SAFE, "--chain-id", "1", "--nonce", "0"),
        stdout=out,
    )
    printed = dict(line.split(": ", 1) for line in out.getvalue().splitlines() if "hash" in line.lower())
    assert printed == shown

    voter = logged_in_page("voter3")
    watch_console(voter, errors)
    voter.goto(f"/proposals/{proposal.pk}/#export")
    assert voter.inner_text("#export-hashes code[data-label=safeTxHash]") == shown["safeTxHash"]
    assert voter.query_selector("#export-form") is None and voter.query_selector("#reexport") is None
    voter.screenshot(path=str(shots / "voter-sees-export.png"), full_page=True)
    assert errors == []
