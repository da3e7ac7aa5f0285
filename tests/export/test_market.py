"""The Market's Safe and custom adapter: validated with the field named, editable in the admin,
seeded for the demo; and the demo proposal exported end to end from a Market's configuration."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from proposals.export import build_export
from proposals.models import Market, Proposal
from review.management.commands.seed_demo import DEMO_SAFE, perp_adapter
from tests.proposals.factories import PASSWORD

pytestmark = pytest.mark.django_db


def errors(market: Market) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as exc:
        market.full_clean()
    return exc.value.message_dict


def test_a_market_refuses_a_bad_safe_address_version_or_multisend_naming_the_field(aave):
    aave.safe_address = DEMO_SAFE.replace("5afE", "5AFe", 1)
    aave.safe_version = "1.2.3"
    aave.safe_multisend = "0x40A2"
    found = errors(aave)
    assert found["safe_address"] == [
        f"safe_address: {aave.safe_address} has mixed case with a wrong EIP-55 checksum."
    ]
    assert any("safe_version" in m for m in found["safe_version"])
    assert found["safe_multisend"] == [
        "safe_multisend: '0x40A2' is not an address (0x and 40 hex digits, 20 bytes)."
    ]


def test_a_market_refuses_a_custom_adapter_whose_mapping_does_not_fit_its_abi_or_schema(perp):
    config = perp_adapter()
    config["mapping"]["liquidation_fee"]["argument"] = "fee"
    perp.custom_adapter = config
    assert errors(perp)["custom_adapter"] == [
        "custom_adapter.mapping.liquidation_fee.argument: 'fee' is not an argument of setLiquidationFee(uint32)."
    ]
    config = perp_adapter()
    config["mapping"]["ltv"] = config["mapping"].pop("liquidation_fee")
    perp.custom_adapter = config
    assert errors(perp)["custom_adapter"][0].startswith(
        "custom_adapter.mapping.ltv: 'ltv' is not a parameter of perp"
    )


def test_the_multisend_defaults_to_the_canonical_deployment_of_the_safes_version(aave):
    aave.safe_version = "1.4.1"
    assert aave.multisend_address == "0x9641d764fc13c8B624c04430C7356C1C7C8102e2"
    aave.safe_multisend = "0x40A2aCCbd92BCA938b02010E17A5b8929b49130D"
    assert aave.multisend_address == "0x40A2aCCbd92BCA938b02010E17A5b8929b49130D"
    aave.safe_version, aave.safe_multisend = "1.1.1", ""
    assert aave.multisend_address is None


def test_an_administrator_sets_the_safe_and_custom_adapter_in_the_admin(admin_user):
    client = Client()
    client.login(username=admin_user.username, password=PASSWORD)
    url = reverse("admin:proposals_market_add")
    assert 'name="custom_adapter"' in client.get(url).content.decode()
    form = {
        "slug": "perp-x",
        "name": "Perp X",
        "mechanism": "perp",
        "chain_id": 1,
        "contracts": "{}",
        "target": "{}",
        "description": "",
        "safe_address": DEMO_SAFE.lower(),
        "safe_version": "1.4.1",
        "safe_multisend": "",
        "custom_adapter": json.dumps({**perp_adapter(), "contract": "0x1234"}),
        "policy-TOTAL_FORMS": 0,
        "policy-INITIAL_FORMS": 0,
        "guardrails-TOTAL_FORMS": 0,
        "guardrails-INITIAL_FORMS": 0,
    }
    response = client.post(url, form)
    assert "custom_adapter.contract: &#x27;0x1234&#x27; is not an address" in response.content.decode()
    assert not Market.objects.filter(slug="perp-x").exists()
    form["custom_adapter"] = json.dumps(perp_adapter())
    assert client.post(url, form).status_code == 302
    market = Market.objects.get(slug="perp-x")
    assert (market.safe_address, market.safe_version) == (DEMO_SAFE.lower(), "1.4.1")
    assert market.custom_adapter == perp_adapter()


def test_the_demo_markets_carry_a_demo_safe_and_the_perpetual_a_valid_custom_adapter():
    call_command("seed_demo", stdout=StringIO())
    for market in Market.objects.all():
        market.full_clean()
        assert market.safe_address == DEMO_SAFE
    perp = Market.objects.get(mechanism="perp")
    assert perp.custom_adapter["contract"] == "0x1111111111111111111111111111111111111111"


def test_the_demo_proposal_exports_decodes_back_and_safe_hashes_agree(tmp_path):
    call_command("seed_demo", stdout=StringIO())
    proposal = Proposal.objects.get(
        market__mechanism="aave-v3", title__startswith="Raise WETH liquidation threshold"
    )
    market = proposal.market
    result = build_export(
        market.export_config(),
        proposal.live_version.values,
        proposal.proposed_version.values,
        safe=market.safe_address,
        chain_id=market.chain_id,
        nonce=7,
        safe_version=market.safe_version,
        multisend=market.safe_multisend or None,
        created_at_ms=1_700_000_000_000,
        title=proposal.title,
        verdict="The proposed parameters add no bad debt in any scenario.",
        manifest_url="https://riskgov.example/backtests/1/manifest.json",
    )
    assert [(r.key, r.ok) for r in result.rows] == [
        ("ltv", True),
        ("liquidation_threshold", True),
        ("liquidation_bonus", True),
    ]
    assert "| ltv | 80.5 % [8050] | 81 % [8100] |" in result.report
    assert "| supply_cap | 1,800,000 WETH | 1,800,000 WETH (unchanged) |" in result.report
    assert "[https://riskgov.example/backtests/1/manifest.json]" in result.report
    path = tmp_path / "batch.json"
    path.write_text(result.batch_json())
    out = StringIO()
    call_command(
        "safe_hashes",
        "--batch",
        str(path),
        "--safe",
        market.safe_address,
        "--chain-id",
        "1",
        "--nonce",
        "7",
        stdout=out,
    )
    assert [line for line in out.getvalue().splitlines() if "hash" in line.lower()] == [
        f"{label}: {value}" for label, value in result.hashes.ledger()
    ]


def test_the_aave_v4_demo_proposal_exports_as_the_spokes_dynamic_reserve_config_call():
    call_command("seed_demo", stdout=StringIO())
    proposal = Proposal.objects.get(market__mechanism="aave-v4")
    market = proposal.market
    result = build_export(
        market.export_config(),
        proposal.live_version.values,
        proposal.proposed_version.values,
        safe=market.safe_address,
        chain_id=market.chain_id,
        nonce=0,
        safe_version=market.safe_version,
        multisend=market.safe_multisend or None,
        created_at_ms=1_700_000_000_000,
        title=proposal.title,
        verdict="",
        manifest_url="https://riskgov.example/backtests/1/manifest.json",
    )
    assert result.adapter == "custom"
    # The call carries the reserve's whole dynamic config, each value decoded back as voted.
    assert [(r.key, r.ok) for r in result.rows] == [
        ("collateral_factor", True),
        ("max_liquidation_bonus", True),
        ("liquidation_fee", True),
    ]
    # One call, the reserve's whole dynamic config in bps: cf 8090, maxLB 10500, fee 1000.
    calls = result.call_documents()
    assert len(calls) == 1
    assert calls[0]["signature"] == "updateDynamicReserveConfig(uint256,uint32,(uint16,uint32,uint16))"
    batch = json.loads(result.batch_json())
    assert batch["transactions"][0]["contractInputsValues"]["dynamicConfig"] == '["8090","10500","1000"]'
