"""The consent return-URL ASGI app (deputy.consent): it binds only for the browser user the
caller's authenticator vouches for, and only when that user started the consent."""

from __future__ import annotations

from typing import Any, Optional

from fastapi import FastAPI
from fastapi.testclient import TestClient

import deputy
from deputy.consent import consent_callback_app
from conftest import WORKLOAD, Vault, consent_as_browser, free_port

SESSIONS = {"session-alice": "dev+alice", "session-mallory": "dev+mallory"}


def authenticate(scope: dict[str, Any]) -> Optional[str]:
    """A stand-in for verifying a bearer session token."""
    for name, value in scope["headers"]:
        if name == b"authorization" and value.startswith(b"Bearer "):
            return SESSIONS.get(value[len(b"Bearer ") :].decode())
    return None


def setup(
    vault: Vault, task_id: str, user: str, integration: str
) -> tuple[deputy.Resolver, deputy.Task, TestClient, dict[str, str]]:
    """The user's consent for `integration` (one the other tests never bind for this user),
    approved on the dev IdP; returns the return URL's query, not yet opened."""
    r = deputy.Resolver(WORKLOAD, endpoint=vault.endpoint, return_url=f"http://127.0.0.1:{free_port()}/deputy/callback")
    task = deputy.Task.interactive(task_id, user_jwt=vault.user_token(user), issuers={vault.issuer: "dev"})
    try:
        r.resolve_token(task, integration, "write")
        raise AssertionError("expected consent to be required")
    except deputy.ConsentRequired as consent:
        back = consent_as_browser(consent.authorization_url, user)
    app = FastAPI()
    app.mount("/deputy/callback", consent_callback_app(r, authenticate))
    return r, task, TestClient(app), back


def test_the_initiator_binds_through_the_asgi_app(vault: Vault) -> None:
    r, task, client, back = setup(vault, "asgi-1", "alice", "jira")
    assert client.get("/deputy/callback", params=back).status_code == 401
    answer = client.get("/deputy/callback", params=back, headers={"authorization": "Bearer session-alice"})
    assert answer.status_code == 200, answer.text
    assert r.resolve_jira_token(task, "write").flow == "user_federation"


def test_a_forwarded_link_opened_by_someone_else_binds_nothing(vault: Vault) -> None:
    r, task, client, back = setup(vault, "asgi-2", "bob", "linear")
    answer = client.get("/deputy/callback", params=back, headers={"authorization": "Bearer session-mallory"})
    assert answer.status_code == 403
    # The state is spent: replaying it as alice is refused too, and nothing was bound.
    again = client.get("/deputy/callback", params=back, headers={"authorization": "Bearer session-alice"})
    assert again.status_code == 403
    try:
        r.resolve_linear_token(task, "write")
        raise AssertionError("a forwarded consent was bound")
    except deputy.ConsentRequired:
        pass


def test_oversized_and_malformed_callbacks_are_refused(vault: Vault) -> None:
    r = deputy.Resolver(WORKLOAD, endpoint=vault.endpoint)
    app = FastAPI()
    app.mount("/deputy/callback", consent_callback_app(r, authenticate))
    client = TestClient(app)
    assert client.get("/deputy/callback", params={"session_id": "x" * 3000, "custom_state": "s"}).status_code == 414
    assert client.get("/deputy/callback", params={"session_id": "x"}).status_code == 400
