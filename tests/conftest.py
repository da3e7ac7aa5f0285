"""Fixtures shared by the Django tests: demo-like users of each role and one market per mechanism;
the browser fixtures come from tests/browser.py."""

import pytest

from governance.models import Member
from tests.proposals.factories import make_market, make_user

pytest_plugins = ["tests.browser"]


@pytest.fixture
def contributor(db):
    return make_user("carol", Member.Role.CONTRIBUTOR)


@pytest.fixture
def other_contributor(db):
    return make_user("chris", Member.Role.CONTRIBUTOR)


@pytest.fixture
def voter(db):
    return make_user("vera", Member.Role.VOTER, power="1000")


@pytest.fixture
def admin_user(db):
    return make_user("ada", Member.Role.ADMINISTRATOR, staff=True)


@pytest.fixture
def aave(db):
    return make_market("aave-v3")


@pytest.fixture
def compound(db):
    return make_market("compound-v3")


@pytest.fixture
def maker(db):
    return make_market("maker-clip")


@pytest.fixture
def perp(db):
    return make_market("perp")


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    # The site serves hashed, compressed files that collectstatic writes (settings.STORAGES); a
    # test that renders pages needs no collectstatic: plain names from the source folders. The
    # production storage is tested by tests/review/test_static.py and the browser's byte count.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # PBKDF2's deliberate slowness is a second per user on this machine; tests need no such cost.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
