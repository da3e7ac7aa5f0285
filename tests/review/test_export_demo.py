"""The demo, to the end: the demo proposal is voted by cast_demo_votes, approved, exported with
export_proposal once its timelock is over; the batch file decodes back to exactly the voted
parameters, and safe_hashes on that file prints the hashes the proposal page shows."""

import json
import time
from datetime import timedelta
from decimal import Decimal
from io import StringIO

from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from backtests.services import open_voting
from governance.models import GovernancePolicy
from proposals import export
from proposals.export.abi import decode_with_signature
from proposals.models import Proposal
from review.management.commands.seed_demo import DEMO_MARKET, DEMO_PASSWORD, DEMO_SAFE
from tests.proposals.factories import complete_backtest
from voting.services import close_voting

CONFIGURE = "configureReserveAsCollateral(address,uint256,uint256,uint256)"


def approve_the_demo_proposal(*, voting_seconds: float) -> Proposal:
    """seed_demo's proposal through the demo's own votes, with the demo policy shortened (no
    delay, a vote of ``voting_seconds``, no timelock) so that the clock passes it in a test."""
    call_command("seed_demo", stdout=StringIO())
    GovernancePolicy.objects.filter(market__slug=DEMO_MARKET).update(
        voting_delay=timedelta(0),
        voting_period=timedelta(seconds=voting_seconds),
        vote_extension=timedelta(0),
        timelock=timedelta(0),
    )
    proposal = (
        Proposal.objects.filter(market__slug=DEMO_MARKET, status=Proposal.Status.BACKTESTING)
        .order_by("pk")
        .first()
    )
    complete_backtest(proposal)  # the worker's run, on the demo site
    open_voting(proposal=proposal)
    call_command("cast_demo_votes", stdout=StringIO())
    proposal.refresh_from_db()
    time.sleep(max(0.0, (proposal.closes_at - timezone.now()).total_seconds()) + 0.1)
    close_voting(proposal=proposal)
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.APPROVED
    return proposal


def test_the_demo_proposal_exports_decodes_back_to_the_vote_and_safe_hashes_agree_with_the_page(db, tmp_path):
    proposal = approve_the_demo_proposal(voting_seconds=5)
    batch_path = tmp_path / "batch.json"
    out = StringIO()
    call_command(
        "export_proposal",
        str(proposal.pk),
        *(
            "--safe",
            DEMO_SAFE,
            "--nonce",
            "0",
            "--out",
            str(batch_path),
            "--report",
            str(tmp_path / "report.md"),
        ),
        stdout=out,
    )
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.EXPORTED

    batch = json.loads(batch_path.read_text())
    assert export.checksum_status(batch) == "valid"
    [(to, value, data)] = export.batch_transactions(batch)
    asset, ltv, threshold, bonus = decode_with_signature(CONFIGURE, data)
    asset = export.checksum_address("asset", asset)
    voted = proposal.proposed_version.values
    assert (to, value, asset) == (
        proposal.market.contracts["pool_configurator"],
        0,
        proposal.market.target["asset"],
    )
    assert [Decimal(ltv) / 10_000, Decimal(threshold) / 10_000, Decimal(bonus) / 10_000 - 1] == [
        Decimal(voted["ltv"]),
        Decimal(voted["liquidation_threshold"]),
        Decimal(voted["liquidation_bonus"]),
    ]

    checked = StringIO()
    safe_args = ("--safe", DEMO_SAFE, "--chain-id", "1", "--nonce", "0")
    call_command("safe_hashes", "--batch", str(batch_path), *safe_args, stdout=checked)
    hash_lines = [line for line in checked.getvalue().splitlines() if "hash" in line.lower()]
    assert len(hash_lines) == 3 and all(line in out.getvalue() for line in hash_lines)
    client = Client()
    assert client.login(username="voter3", password=DEMO_PASSWORD)
    html = client.get(reverse("review:detail", args=[proposal.pk])).content.decode()
    for line in hash_lines:
        label, value = line.split(": ")
        assert f'<code class="hash" data-label="{label}">{value}</code>' in html
    backtest = (tmp_path / "report.md").read_text().split("## Backtest")[1]
    run = proposal.backtest_runs.get(status="complete")  # the factory's run stores no results
    assert f"Backtest run #{run.pk} stored no scenario results." in backtest
    assert f"/backtests/runs/{run.pk}/manifest/" in backtest
