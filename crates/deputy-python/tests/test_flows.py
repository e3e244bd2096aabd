"""Every flow through the Python package against `deputy vault serve`: M2M, API keys, 3LO with
the consent completed on the dev IdP's form, and on-behalf-of with `act`."""

from __future__ import annotations

import datetime

import pytest

import deputy
from conftest import API_KEY_VALUE, KEYS_POLICY, WORKLOAD, Vault, consent_as_browser, free_port


def resolver(vault: Vault, **options: object) -> deputy.Resolver:
    return deputy.Resolver(WORKLOAD, endpoint=vault.endpoint, **options)  # type: ignore[arg-type]


def test_m2m_headless_read(vault: Vault) -> None:
    r = resolver(vault)
    token = r.resolve_linear_token(deputy.Task.headless("m2m-1"), "read")
    assert token.flow == "m2m"
    assert token.rule_id == "service-read"
    assert token.source == "vault"
    assert token.provider == "linear-service"
    assert token.expires_at > datetime.datetime.now(datetime.timezone.utc)
    assert token.reveal() and token.fingerprint.startswith("sha256:")
    again = r.resolve_linear_token(deputy.Task.headless("m2m-2"), "read")
    assert again.source == "cache"
    assert again.reveal() == token.reveal()


def test_api_key(vault: Vault) -> None:
    r = resolver(vault, policy=KEYS_POLICY)
    token = r.resolve_token(deputy.Task.headless("key-1"), "search", "read")
    assert token.flow == "api_key"
    assert token.reveal() == API_KEY_VALUE


def test_three_legged_consent_through_the_dev_idp_form(vault: Vault) -> None:
    return_url = f"http://127.0.0.1:{free_port()}/deputy/callback"
    r = resolver(vault, return_url=return_url)
    task = deputy.Task.interactive("3lo-1", user_jwt=vault.user_token("alice"), issuers={vault.issuer: "dev"})
    assert task.user == "dev+alice"
    with pytest.raises(deputy.ConsentRequired) as needed:
        r.resolve_linear_token(task, "read")
    consent = needed.value
    assert consent.provider == "linear"
    assert consent.authorization_url.startswith("http")
    assert consent.authorization_url not in str(consent)
    back = consent_as_browser(consent.authorization_url, "alice")
    r.complete_consent_callback(back["session_id"], back["custom_state"], "dev+alice")
    token = r.resolve_linear_token(task, "read")
    assert token.flow == "user_federation"
    assert token.rule_id == "linear-interactive"


def test_on_behalf_of_with_act(vault: Vault) -> None:
    verifier = deputy.Verifier(vault.issuer, f"{vault.issuer}/jwks", ["aws-native"])
    r = resolver(vault, verifiers={"aws-native": verifier}, orchestrator="orchestrator")
    task = deputy.Task.interactive(
        "obo-1", user_jwt=vault.user_token("alice"), issuers={vault.issuer: "dev"}, orchestrator="planner"
    )
    token = r.resolve_aws_native_token(task, "read")
    assert token.flow == "on_behalf_of"
    assert token.rule_id == "aws-native-obo"
    import base64
    import json

    payload = token.reveal().split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["sub"] == "alice"
    assert "act" in claims, claims


def test_async_resolver_resolves_the_same_flows(vault: Vault) -> None:
    import asyncio

    async def run() -> deputy.Token:
        r = deputy.AsyncResolver(WORKLOAD, endpoint=vault.endpoint)
        return await r.resolve_jira_token(deputy.Task.headless("async-1"), "read")

    token = asyncio.run(run())
    assert token.flow == "m2m" and token.provider == "jira-service"
