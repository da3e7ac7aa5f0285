"""The proposal page's export section and the downloads: when the export becomes possible, who
may export (a POST with CSRF, administrators only), what the section shows once exported (Safe,
chain, nonce, the Ledger hashes, the calls decoded, the decode-back table with a tick per row),
and the stored files served as stored, to whoever may see the proposal."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from governance.models import AuditLog
from proposals import services
from proposals.management.commands.safe_hashes import describe
from proposals.models import Export, Proposal
from review.management.commands.seed_demo import DEMO_SAFE
from tests.proposals.factories import PASSWORD, make_market, make_proposal, policy_over_at_once

S = Proposal.Status


def client_for(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def page(user, proposal) -> str:
    response = client_for(user).get(reverse("review:detail", args=[proposal.pk]))
    assert response.status_code == 200
    return response.content.decode()


def export_form(nonce="5", **extra) -> dict:
    return {"nonce": nonce, "safe": DEMO_SAFE, "safe_version": "1.3.0", **extra}


@pytest.fixture
def approved(aave, contributor):
    """Approved with its timelock already over, so that the page (which uses the clock) may export."""
    policy_over_at_once(aave)
    return make_proposal(aave, contributor, S.APPROVED, ltv="0.81", reserve_factor="0.2")


def test_before_the_timelock_ends_the_section_says_when_the_export_becomes_possible(
    aave, contributor, admin_user
):
    proposal = make_proposal(aave, contributor, S.APPROVED, ltv="0.81")  # timelock: a day after the close
    html = page(admin_user, proposal)
    assert (
        "The export becomes possible at <strong>" + f"{proposal.timelock_ends_at:%Y-%m-%d %H:%M:%S} UTC"
        in html
    )
    assert 'id="export-form"' not in html
    assert 'id="export-preview"' in html  # the decode-back rows are shown before anyone exports
    response = client_for(admin_user).post(
        reverse("review:export", args=[proposal.pk]), export_form(), follow=True
    )
    assert "is in its timelock until" in response.content.decode()
    assert not Export.objects.exists()


def test_after_the_timelock_administrators_see_the_form_with_the_markets_safe(approved, admin_user, voter):
    html = page(admin_user, approved)
    assert 'id="export-form"' in html and f'value="{DEMO_SAFE}"' in html
    assert 'name="reason"' not in html  # only a re-export asks why
    voter_html = page(voter, approved)
    assert 'id="export-form"' not in voter_html
    assert "An administrator exports it with the Safe's next nonce." in voter_html


def test_only_administrators_export_and_only_with_a_post(approved, admin_user, voter, contributor):
    url = reverse("review:export", args=[approved.pk])
    assert Client().post(url, export_form()).status_code == 302  # to the sign-in page
    assert client_for(voter).post(url, export_form()).status_code == 403
    assert client_for(contributor).post(url, export_form()).status_code == 403
    assert client_for(admin_user).get(url).status_code == 405
    assert not Export.objects.exists()


def test_the_export_form_needs_the_csrf_token(approved, admin_user):
    client = Client(enforce_csrf_checks=True)
    client.login(username=admin_user.username, password=PASSWORD)
    assert client.post(reverse("review:export", args=[approved.pk]), export_form()).status_code == 403
    assert not Export.objects.exists()


def test_an_administrator_exports_and_the_section_shows_what_the_signers_check(approved, admin_user, voter):
    response = client_for(admin_user).post(reverse("review:export", args=[approved.pk]), export_form())
    assert response.status_code == 302 and response["Location"].endswith(f"/proposals/{approved.pk}/#export")
    stored = Export.objects.get()
    assert (stored.nonce, stored.created_by) == (5, admin_user)
    assert Proposal.objects.get(pk=approved.pk).status == S.EXPORTED
    html = page(voter, approved)
    for label, value in stored.ledger():
        assert f'<code class="hash" data-label="{label}">{value}</code>' in html
    assert f'<code id="export-safe">{DEMO_SAFE}</code>' in html and '<dd id="export-nonce">5</dd>' in html
    assert "configureReserveAsCollateral(address,uint256,uint256,uint256)" in html
    assert "setReserveFactor(address,uint256)" in html
    assert "<code>newReserveFactor</code> (uint256) = <code>2000</code>" in html
    assert stored.calls[1]["data"] in html
    table = html[html.index('id="export-decode-back"') :]
    table = table[: table.index("</table>")]
    assert table.count("&#10003;") == 4 and "&#10007;" not in table
    for key in ("ltv", "reserve_factor"):
        assert f'data-key="{key}"' in table
    assert "Rechecked now: the stored batch file gives these hashes." in html
    assert 'id="reexport"' not in html  # the re-export is for administrators


def test_exporting_twice_shows_the_stored_export(approved, admin_user):
    client = client_for(admin_user)
    client.post(reverse("review:export", args=[approved.pk]), export_form())
    response = client.post(reverse("review:export", args=[approved.pk]), export_form(), follow=True)
    assert "Already exported: the stored export is shown." in response.content.decode()
    assert Export.objects.count() == 1


def test_a_reexport_needs_a_reason_and_keeps_the_replaced_export_listed(approved, admin_user):
    client = client_for(admin_user)
    url = reverse("review:export", args=[approved.pk])
    client.post(url, export_form())
    html = page(admin_user, approved)
    assert 'id="reexport-form"' in html and 'name="nonce" value="6"' in html  # the next nonce offered
    response = client.post(url, export_form(nonce="6"), follow=True)
    assert "was exported for nonce 5" in response.content.decode() and Export.objects.count() == 1
    response = client.post(url, export_form(nonce="6", reason="nonce 5 was used"), follow=True)
    html = response.content.decode()
    assert "Exported (export 2)." in html and '<dd id="export-nonce">6</dd>' in html
    first = Export.objects.get(number=1)
    assert f"export 1: nonce 5, safeTxHash <code>{first.safe_tx_hash}</code>" in html
    assert AuditLog.objects.filter(action="proposal.reexported", data__reason="nonce 5 was used").exists()


def test_a_blocked_export_shows_the_reason_and_no_form(db, contributor, admin_user):
    maker = make_market("maker-clip")
    policy_over_at_once(maker)
    proposal = make_proposal(maker, contributor, S.APPROVED, chop="1.12", dust="8000")
    html = page(admin_user, proposal)
    assert "The export is blocked: proposal #" in html
    assert "dust: changed in the voted version, but no call sets it" in html
    assert 'id="export-form"' not in html
    response = client_for(admin_user).post(
        reverse("review:export", args=[proposal.pk]), export_form(), follow=True
    )
    assert "dust: changed in the voted version, but no call sets it" in response.content.decode()
    assert not Export.objects.exists()


def test_a_bad_nonce_is_refused_by_the_form(approved, admin_user):
    response = client_for(admin_user).post(
        reverse("review:export", args=[approved.pk]), export_form(nonce="-1"), follow=True
    )
    assert "nonce: Ensure this value is greater than or equal to 0." in response.content.decode()
    assert not Export.objects.exists()


def test_the_downloads_serve_the_stored_files_to_whoever_may_see_the_proposal(
    approved, admin_user, voter, tmp_path
):
    stored = services.export_proposal(proposal=approved, actor=admin_user, nonce=9)
    client = client_for(voter)
    expected = {
        "batch": (stored.batch, "application/json", "batch.json"),
        "typed-data": (stored.typed_data, "application/json", "typed-data.json"),
        "report": (stored.report, "text/markdown; charset=utf-8", "report.md"),
    }
    for kind, (text, content_type, suffix) in expected.items():
        url = reverse("review:export_file", args=[approved.pk, 1, kind])
        response = client.get(url)
        assert response.status_code == 200 and response.content == text.encode()
        assert response["Content-Type"] == content_type
        assert (
            response["Content-Disposition"]
            == f'attachment; filename="proposal-{approved.pk}-export-1-{suffix}"'
        )
        assert Client().get(url).status_code == 302  # anonymous: to the sign-in page
    batch = json.loads(client.get(reverse("review:export_file", args=[approved.pk, 1, "batch"])).content)
    lines = describe(batch, safe=DEMO_SAFE, chain_id=1, nonce=9, safe_version="1.3.0", multisend=None)
    assert lines[-3:] == [f"{label}: {value}" for label, value in stored.ledger()]
    assert client.get(reverse("review:export_file", args=[approved.pk, 1, "secrets"])).status_code == 404
    assert client.get(reverse("review:export_file", args=[approved.pk, 2, "batch"])).status_code == 404
    assert client.post(reverse("review:export_file", args=[approved.pk, 1, "batch"])).status_code == 405


def test_a_draft_and_its_downloads_stay_hidden_from_others(aave, contributor, other_contributor):
    draft = make_proposal(aave, contributor, ltv="0.81")
    url = reverse("review:export_file", args=[draft.pk, 1, "batch"])
    assert client_for(other_contributor).get(url).status_code == 404
    assert 'id="export"' not in page(contributor, draft)


def test_a_market_without_a_safe_still_shows_the_rows_and_the_form_asks_for_one(approved, aave, admin_user):
    type(aave).objects.filter(pk=aave.pk).update(safe_address="")
    html = page(admin_user, approved)
    assert 'id="export-preview"' in html and 'id="export-form"' in html
    assert 'name="safe" value=' not in html
    client_for(admin_user).post(reverse("review:export", args=[approved.pk]), export_form())
    assert Export.objects.get().safe == DEMO_SAFE
