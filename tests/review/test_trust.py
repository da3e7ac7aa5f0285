"""The trust defects a new user found: a decimal comma read as a thousands separator, drafts
leaking to voters, and voters sent to a 403 by the Scenarios link."""

import pytest
from django.urls import reverse

from proposals.models import Proposal
from tests.review.test_pages import client_for, form_data

S = Proposal.Status


@pytest.mark.parametrize(
    "key,raw,message",
    [
        (
            "supply_cap",
            "1800,5",
            "supply_cap: &#x27;1800,5&#x27; is not a plain number; write digits with a point for decimals "
            "and no thousands separators: &quot;1800.5&quot;.",
        ),
        ("liquidation_bonus", "0,06", "no thousands separators: &quot;0.06&quot;."),
    ],
)
def test_a_decimal_comma_is_refused_on_its_field_and_nothing_is_saved(aave, contributor, key, raw, message):
    data = form_data(aave, action="save")
    data[f"p__{key}"] = raw
    response = client_for(contributor).post(reverse("review:create", args=[aave.slug]), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert response.context["form"].errors[f"p__{key}"]
    assert Proposal.objects.count() == 0
