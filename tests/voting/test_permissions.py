"""Who may do what: every role x action, over the pages and the commands, allowed or refused.

Roles: anonymous, voter, contributor (the proposal's author), administrator. "ok" is the
allowed answer (200, or the redirect a successful POST makes); a refusal is the sign-in
redirect for anonymous visitors, 403, or 404 for a draft someone may not see."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from proposals.models import Proposal
from tests.proposals.factories import PASSWORD, make_proposal
from tests.voting.conftest import open_proposal
from voting.models import Vote

ROLES = ["anonymous", "voter", "contributor", "administrator"]
SIGN_IN, OK, REDIRECT, FORBIDDEN, NOT_FOUND = "sign-in", 200, 302, 403, 404


@pytest.fixture
def world(aave, contributor, voters, admin_user):
    return {
        "draft": make_proposal(aave, contributor, ltv="0.79"),
        "voting": open_proposal(aave, contributor, ltv="0.8"),
        "users": {"voter": voters["voter3"], "contributor": contributor, "administrator": admin_user},
    }


def client_for(world, role):
    client = Client()
    if role != "anonymous":
        assert client.login(username=world["users"][role].username, password=PASSWORD)
    return client


# action: (method, url name, which proposal, data) -> expected answer per role
PAGES = {
    "list proposals": ("get", "review:list", None, {}, [SIGN_IN, OK, OK, OK]),
    "see a proposal in voting": ("get", "review:detail", "voting", {}, [SIGN_IN, OK, OK, OK]),
    "see someone's draft": ("get", "review:detail", "draft", {}, [SIGN_IN, NOT_FOUND, OK, OK]),
    "open the new proposal form": ("get", "review:new", None, {}, [SIGN_IN, FORBIDDEN, OK, OK]),
    "write a proposal": ("get", "review:create", "market", {}, [SIGN_IN, FORBIDDEN, OK, OK]),
    "edit a submitted proposal": (
        "get",
        "review:edit",
        "voting",
        {},
        [SIGN_IN, FORBIDDEN, REDIRECT, REDIRECT],
    ),
    "submit a draft": ("post", "review:submit", "draft", {}, [SIGN_IN, NOT_FOUND, REDIRECT, REDIRECT]),
    "withdraw a proposal": ("post", "review:withdraw", "draft", {}, [SIGN_IN, NOT_FOUND, REDIRECT, REDIRECT]),
    "schedule voting by hand": (
        "post",
        "review:open_voting",
        "voting",
        {},
        [SIGN_IN, FORBIDDEN, FORBIDDEN, REDIRECT],
    ),
    "record an execution": (
        "post",
        "review:execute",
        "voting",
        {"tx_hash": "0x" + "12" * 32},
        [SIGN_IN, FORBIDDEN, FORBIDDEN, REDIRECT],
    ),
    "export a proposal": (
        "post",
        "review:export",
        "voting",
        {"nonce": "0", "safe": "0x5afe5afE5afE5afE5afE5aFe5aFe5Afe5Afe5AfE", "safe_version": "1.3.0"},
        [SIGN_IN, FORBIDDEN, FORBIDDEN, REDIRECT],
    ),
    "vote": ("post", "voting:vote", "voting", {"choice": "for"}, [SIGN_IN, REDIRECT, FORBIDDEN, FORBIDDEN]),
    "read the live tally": ("get", "voting:tally", "voting", {}, [SIGN_IN, OK, OK, OK]),
    "read a proposal's audit log": ("get", "voting:audit", "voting", {}, [SIGN_IN, OK, OK, OK]),
    "close voting now": ("post", "voting:close", "voting", {}, [SIGN_IN, FORBIDDEN, FORBIDDEN, REDIRECT]),
    "choose a delegate": ("get", "voting:delegation", None, {}, [SIGN_IN, OK, OK, OK]),
    "manage markets (admin)": (
        "get",
        "admin:proposals_market_changelist",
        None,
        {},
        [SIGN_IN, SIGN_IN, SIGN_IN, OK],
    ),
    "manage policies (admin)": (
        "get",
        "admin:governance_governancepolicy_changelist",
        None,
        {},
        [SIGN_IN, SIGN_IN, SIGN_IN, OK],
    ),
    "manage members (admin)": (
        "get",
        "admin:governance_member_changelist",
        None,
        {},
        [SIGN_IN, SIGN_IN, SIGN_IN, OK],
    ),
}
CASES = [
    (action, role, expected[i]) for action, (*_, expected) in PAGES.items() for i, role in enumerate(ROLES)
]


@pytest.mark.parametrize("action,role,expected", CASES, ids=[f"{a}-{r}" for a, r, _ in CASES])
def test_every_role_and_page_action_is_allowed_or_refused(world, aave, action, role, expected):
    method, name, which, data, _ = PAGES[action]
    args = [aave.slug] if which == "market" else [world[which].pk] if which else []
    response = getattr(client_for(world, role), method)(reverse(name, args=args), data)
    if expected == SIGN_IN:
        assert response.status_code == 302 and "login" in response["Location"], response
    else:
        assert response.status_code == expected, (action, role, response.status_code)


def test_an_allowed_vote_is_recorded_and_a_refused_one_is_not(world):
    for role in ROLES:
        client_for(world, role).post(reverse("voting:vote", args=[world["voting"].pk]), {"choice": "for"})
    assert list(Vote.objects.values_list("member__user__username", flat=True)) == ["voter3"]


def test_nobody_edits_a_proposal_after_submission(world):
    proposal = world["voting"]
    for role in ("contributor", "administrator"):
        response = client_for(world, role).post(
            reverse("review:edit", args=[proposal.pk]), {"title": "Changed"}
        )
        assert response.status_code == 302
    assert Proposal.objects.get(pk=proposal.pk).title == "A change"


def command(name, *args):
    try:
        call_command(name, *args, stdout=StringIO(), stderr=StringIO())
    except CommandError as exc:
        return exc.returncode
    return 0


@pytest.mark.parametrize("role,expected", [("voter", 1), ("contributor", 1), ("administrator", 0)])
def test_only_administrators_import_voting_power_by_command(world, tmp_path, role, expected):
    path = tmp_path / "power.csv"
    path.write_text("0x90F79bf6EB2c4f870365E785982E1f101E93b906,10\n")
    assert (
        command("import_power", str(path), "--block", "1", "--actor", world["users"][role].username)
        == expected
    )


def test_the_verification_commands_read_only_and_need_no_role(world):
    # They change nothing, so anyone with a shell on the server may run them; they refuse a
    # proposal that was never voted on with the usage status.
    assert command("verify_votes", str(world["voting"].pk)) == 0
    assert command("verify_votes", str(world["draft"].pk)) == 2
    assert command("verify_audit_log") == 0
