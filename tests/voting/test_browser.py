"""In headless Chromium: a voter votes with the form (unsigned), a wallet voter signs in with
Ethereum and signs a vote as EIP-712 typed data. The wallet is a test ``window.ethereum``
whose requests Playwright answers with the demo's public test key. Screenshots go under the
test's output folder; the pages log no console error."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data

from backtests.services import open_voting
from governance.models import GovernancePolicy
from proposals.models import Proposal
from review.management.commands.seed_demo import DEMO_MARKET, DEMO_WALLET_KEYS
from tests.proposals.factories import complete_backtest
from voting.models import Vote

pytestmark = pytest.mark.e2e

WALLET = """
window.ethereum = {
  isTestWallet: true,
  request: function (args) { return window.__answerWallet(JSON.stringify(args)); }
};
"""


def install_wallet(page, key: str) -> None:
    account = Account.from_key(key)

    def answer(raw: str):
        request = json.loads(raw)
        method, params = request["method"], request.get("params") or []
        if method in ("eth_requestAccounts", "eth_accounts"):
            return [account.address]
        if method == "personal_sign":
            text = bytes.fromhex(params[0][2:]).decode("utf-8")
            return "0x" + Account.sign_message(encode_defunct(text=text), key).signature.hex().removeprefix(
                "0x"
            )
        if method == "eth_signTypedData_v4":
            typed = json.loads(params[1])
            return "0x" + Account.sign_message(
                encode_typed_data(full_message=typed), key
            ).signature.hex().removeprefix("0x")
        raise ValueError(f"the test wallet does not answer {method}")

    page.expose_function("__answerWallet", answer)
    page.add_init_script(WALLET)


def watch_console(page, errors: list[str]) -> None:
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))


@pytest.fixture
def voting_demo(demo_site):
    GovernancePolicy.objects.filter(market__slug=DEMO_MARKET).update(voting_delay=timedelta(0))
    proposal = (
        Proposal.objects.filter(market__slug=DEMO_MARKET, status=Proposal.Status.BACKTESTING)
        .order_by("pk")
        .first()
    )
    complete_backtest(proposal)
    return open_voting(proposal=proposal)


def test_voters_vote_with_the_form_and_with_a_wallet_signature(
    voting_demo, logged_in_page, new_page, tmp_path
):
    shots = Path(tmp_path)
    proposal, errors = voting_demo, []

    page = logged_in_page("voter3")
    watch_console(page, errors)
    page.goto(f"/proposals/{proposal.pk}/")
    page.check("#vote-form input[value=against]")
    page.fill("#vote-reason", "wait a month")
    page.click("#vote-submit")
    page.wait_for_selector("#my-vote")
    assert "Your vote: Against (unsigned)" in page.inner_text("#my-vote")
    page.screenshot(path=str(shots / "voter3-voted.png"), full_page=True)

    wallet = new_page()
    watch_console(wallet, errors)
    install_wallet(wallet, DEMO_WALLET_KEYS["voter1"])
    wallet.goto(f"/voting/sign-in/?next=/proposals/{proposal.pk}/")
    wallet.click("#siwe-connect")
    wallet.wait_for_url(lambda url: "/sign-in/" not in url)
    assert "voter1" in wallet.inner_text("header")
    wallet.check("#vote-form input[value=for]")
    wallet.fill("#vote-reason", "backtests ok")
    wallet.click("#vote-sign")
    wallet.wait_for_selector("#my-vote")
    assert "Your vote: For (signed by 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266)" in wallet.inner_text(
        "#my-vote"
    )
    wallet.screenshot(path=str(shots / "voter1-signed.png"), full_page=True)

    votes = {v.member.name: v for v in Vote.objects.select_related("member__user")}
    assert (votes["voter3"].choice, votes["voter3"].is_signed) == ("against", False)
    assert (votes["voter1"].choice, votes["voter1"].reason, votes["voter1"].is_signed) == (
        "for",
        "backtests ok",
        True,
    )
    # The first page's tally follows without a reload (it polls every 5 s).
    page.wait_for_function("document.getElementById('tally-for').textContent === '400,000'", timeout=15_000)
    page.screenshot(path=str(shots / "voter3-live-tally.png"), full_page=True)
    assert errors == []
