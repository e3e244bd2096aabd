"""The consent return-URL endpoint as an ASGI app, for FastAPI/Starlette or any ASGI server.

After consent the vault sends the browser to the workload's return URL with ``session_id``
and ``custom_state``. :func:`consent_callback_app` binds the session only when the caller's
``authenticate`` callable says who is signed in on *that* browser and it is the user who
started the consent (checked in Rust, ``Resolver::complete_consent_callback``): a forwarded
consent link approved by someone else binds nothing.

``authenticate(scope)`` receives the ASGI HTTP scope (headers are in ``scope["headers"]``) and
returns the signed-in user id (``"<idp>+<sub>"``) or ``None`` when nobody is signed in. Verify a
session cookie or a bearer JWT there; never trust a user named in the query.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from typing import Any, Awaitable, Callable, Optional, Union

from deputy._deputy import AsyncResolver, ConsentUserMismatch, ResolveError, Resolver

Authenticator = Callable[[dict[str, Any]], Union[Optional[str], Awaitable[Optional[str]]]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

#: The longest query accepted (the vault's is about 150 bytes).
MAX_QUERY_BYTES = 2048


async def _page(send: Send, status: int, text: str) -> None:
    body = (
        "<!doctype html><meta charset=utf-8><title>deputy</title><p>"
        + text.replace("&", "&amp;").replace("<", "&lt;")
        + "</p>"
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"cache-control", b"no-store"),
                (b"content-security-policy", b"default-src 'none'"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def consent_callback_app(
    resolver: Union[Resolver, AsyncResolver], authenticate: Authenticator
) -> Callable[[dict[str, Any], Receive, Send], Awaitable[None]]:
    """An ASGI app serving ``GET`` on the consent return URL; mount it at the return URL's path
    (``app.mount("/deputy/callback", consent_callback_app(resolver, authenticate))``). Use the
    resolver whose resolves started the consent: the state it checks lives there."""

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            return
        if scope.get("method") != "GET":
            await _page(send, 405, "Use GET.")
            return
        raw = scope.get("query_string", b"")
        if len(raw) > MAX_QUERY_BYTES:
            await _page(send, 414, "This link is too long to be a consent link.")
            return
        query = urllib.parse.parse_qs(raw.decode("latin-1"), max_num_fields=8)
        session = query.get("session_id", [""])[0]
        state = query.get("custom_state", [""])[0]
        if not session or not state:
            await _page(send, 400, "This link is malformed.")
            return
        user = authenticate(scope)
        if not isinstance(user, (str, type(None))):
            user = await user
        if user is None:
            await _page(send, 401, "Sign in, then open the consent link again.")
            return
        try:
            if isinstance(resolver, AsyncResolver):
                await resolver.complete_consent_callback(session, state, user)
            else:
                await asyncio.to_thread(resolver.complete_consent_callback, session, state, user)
        except ConsentUserMismatch:
            await _page(
                send,
                403,
                "You are signed in as someone other than the person who asked for this consent; nothing was recorded.",
            )
            return
        except ResolveError as error:
            status = 403 if error.kind == "callback_rejected" else 502
            await _page(send, status, "This consent could not be recorded: " + str(error))
            return
        await _page(send, 200, "Consent recorded. You can close this tab and return to the agent.")

    return app
