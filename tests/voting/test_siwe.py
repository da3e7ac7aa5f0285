"""Sign-In with Ethereum (EIP-4361): the grammar, the checks, single-use expiring nonces, and
the sign-in pages."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from review.management.commands.seed_demo import DEMO_WALLET_KEYS, DEMO_WALLETS
from voting import signatures
from voting.models import SiweNonce
from voting.services import siwe_message, verify_siwe

DOMAIN = "testserver"
ADDRESS = DEMO_WALLETS["voter1"]
KEY = DEMO_WALLET_KEYS["voter1"]
# The example of EIP-4361 itself (with the address of a public test key).
EXAMPLE = (
    "service.org wants you to sign in with your Ethereum account:\n"
    f"{ADDRESS}\n\n"
    "I accept the ServiceOrg Terms of Service: https://service.org/tos\n\n"
    "URI: https://service.org/login\n"
    "Version: 1\n"
    "Chain ID: 1\n"
    "Nonce: 32891756\n"
    "Issued At: 2021-09-30T16:25:24Z\n"
    "Resources:\n"
    "- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/\n"
    "- https://example.com/my-web2-claim.json"
)


def test_the_eip_4361_example_parses_term_by_term_and_formats_back():
    m = signatures.parse_siwe(EXAMPLE)
    assert (m.domain, m.address, m.uri, m.version, m.chain_id, m.nonce) == (
        "service.org",
        ADDRESS,
        "https://service.org/login",
        "1",
        1,
        "32891756",
    )
    assert m.statement == "I accept the ServiceOrg Terms of Service: https://service.org/tos"
    assert m.issued_at == datetime(2021, 9, 30, 16, 25, 24, tzinfo=UTC)
    assert m.resources == (
        "ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/",
        "https://example.com/my-web2-claim.json",
    )
    assert m.text() == EXAMPLE


def test_optional_terms_scheme_and_no_statement_parse():
    text = EXAMPLE.replace("service.org wants", "https://service.org:8443 wants").replace(
        "I accept the ServiceOrg Terms of Service: https://service.org/tos\n\n", "\n"
    )
    text = text.replace(
        "Resources:", "Expiration Time: 2021-09-30T17:25:24.5+02:00\nRequest ID: abc-1\nResources:"
    )
    m = signatures.parse_siwe(text)
    assert (m.scheme, m.domain, m.statement, m.request_id) == ("https", "service.org:8443", None, "abc-1")
    assert m.expiration_time == datetime(2021, 9, 30, 15, 25, 24, 500000, tzinfo=UTC)


@pytest.mark.parametrize(
    "change,message",
    [
        (("Version: 1", "Version: 2"), "line 7: Version: '2' is not valid"),
        (("Nonce: 32891756", "Nonce: 1234"), "line 9: Nonce: '1234' is not valid"),
        (("Chain ID: 1", "Chain ID: one"), "line 8: Chain ID: 'one' is not valid"),
        (("wants you to sign in", "wants you to log in"), r"line 1 \(first line\) does not match"),
        ((ADDRESS, ADDRESS.lower()), "is not EIP-55 checksummed"),
        (("URI: https", "URI https"), "a required line is missing or out of order"),
        (("I accept", "I accept\nsomething"), "a required line is missing or out of order"),
    ],
)
def test_a_message_off_the_grammar_is_refused_naming_the_term(change, message):
    with pytest.raises(signatures.SignatureError, match=message):
        signatures.parse_siwe(EXAMPLE.replace(*change))


@pytest.fixture
def signed_in(voters):
    def sign(now=None, domain=DOMAIN, key=KEY):
        text = siwe_message(address=ADDRESS, domain=domain, uri=f"http://{domain}/voting/sign-in/", now=now)
        return text, signatures.sign_siwe(text, key)

    return sign


def test_a_signed_message_signs_in_its_member_and_uses_up_the_nonce(signed_in, voters):
    text, signature = signed_in()
    assert verify_siwe(message=text, signature=signature, domain=DOMAIN).user == voters["voter1"]
    with pytest.raises(signatures.SignatureError, match="unknown, used or expired"):
        verify_siwe(message=text, signature=signature, domain=DOMAIN)


def test_an_expired_message_another_domain_or_another_signer_is_refused(signed_in):
    text, signature = signed_in(now=timezone.now() - timedelta(minutes=10))
    with pytest.raises(signatures.SignatureError, match="has expired"):
        verify_siwe(message=text, signature=signature, domain=DOMAIN)
    text, signature = signed_in(domain="evil.example")
    with pytest.raises(signatures.SignatureError, match="is for evil.example, not for this site"):
        verify_siwe(message=text, signature=signature, domain=DOMAIN)
    text, signature = signed_in(key=DEMO_WALLET_KEYS["voter2"])
    with pytest.raises(
        signatures.SignatureError, match=f"names {ADDRESS} but was signed by {DEMO_WALLETS['voter2']}"
    ):
        verify_siwe(message=text, signature=signature, domain=DOMAIN)
    assert not SiweNonce.objects.filter(used_at__isnull=False).exists()


def test_a_message_with_an_invented_nonce_or_another_chain_is_refused(signed_in, settings):
    text, _ = signed_in()
    forged = text.replace(text.split("Nonce: ")[1].split("\n")[0], "abcdefgh12345678")
    with pytest.raises(signatures.SignatureError, match="unknown, used or expired"):
        verify_siwe(message=forged, signature=signatures.sign_siwe(forged, KEY), domain=DOMAIN)
    settings.VOTING_CHAIN_ID = 10
    with pytest.raises(signatures.SignatureError, match="chain id 1: this site signs in on chain 10"):
        verify_siwe(message=text, signature=signatures.sign_siwe(text, KEY), domain=DOMAIN)


def test_an_address_linked_to_no_member_cannot_sign_in(db):
    from eth_account import Account  # noqa: PLC0415 - a throwaway key for this test only

    stranger = Account.create()
    text = siwe_message(address=stranger.address, domain=DOMAIN, uri="http://testserver/")
    with pytest.raises(signatures.SignatureError, match="no active member is linked"):
        verify_siwe(message=text, signature=signatures.sign_siwe(text, stranger.key.hex()), domain=DOMAIN)


def test_the_sign_in_pages_sign_a_wallet_member_in_with_csrf(voters):
    client = Client(enforce_csrf_checks=True)
    page = client.get(reverse("voting:sign_in"))
    assert page.status_code == 200 and "Externally owned accounts only" in page.content.decode()
    token = page.cookies["csrftoken"].value
    assert client.post(reverse("voting:siwe_message"), {"address": ADDRESS}).status_code == 403  # no token
    answer = client.post(
        reverse("voting:siwe_message"), {"address": ADDRESS, "csrfmiddlewaretoken": token}
    ).json()
    signature = signatures.sign_siwe(answer["message"], KEY)
    result = client.post(
        reverse("voting:siwe_verify"),
        {"message": answer["message"], "signature": signature, "csrfmiddlewaretoken": token},
    ).json()
    assert result == {"ok": True, "user": "voter1", "address": ADDRESS}
    assert client.get(reverse("review:list")).status_code == 200
    token = client.cookies["csrftoken"].value  # signing in rotates the token
    bad = client.post(
        reverse("voting:siwe_verify"),
        {"message": answer["message"], "signature": signature, "csrfmiddlewaretoken": token},
    )
    assert bad.status_code == 400 and "used or expired" in bad.json()["error"]
