"""Fixtures: the real `deputy vault serve` process on 127.0.0.1, a counting proxy in front of
it, and helpers that act as the browser on the dev IdP's consent form (urllib only)."""

from __future__ import annotations

import http.client
import http.server
import json
import os
import pathlib
import re
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from typing import Iterator

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
WORKLOAD = "deputy-agent"
API_KEY_VALUE = "sk-canary-4f1d9a7c2e8b-python-api-key"
KEYS_POLICY = """version = 1
[[rule]]
id = "search"
integrations = ["search"]
triggers = ["*"]
operations = ["*"]
flow = "api_key"
provider = "search-key"
[[rule]]
id = "rest"
integrations = ["github", "linear", "jira", "slack", "aws-native"]
triggers = ["*"]
operations = ["*"]
flow = "deny"
reason = "not in this test"
"""


def deputy_binary() -> pathlib.Path:
    if os.environ.get("DEPUTY_BIN"):
        return pathlib.Path(os.environ["DEPUTY_BIN"])
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / "debug" / "deputy"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Vault:
    def __init__(self, endpoint: str, issuer: str) -> None:
        self.endpoint = endpoint
        self.issuer = issuer

    def user_token(self, user: str, audience: str = "deputy") -> str:
        body = urllib.parse.urlencode({"username": user, "password": user, "audience": audience}).encode()
        with urllib.request.urlopen(f"{self.endpoint}/idp/dev/user-token", body, timeout=10) as r:
            return str(json.load(r)["token"])

    def workload_access_token(self) -> str:
        request = urllib.request.Request(
            f"{self.endpoint}/identities/GetWorkloadAccessToken",
            json.dumps({"workloadName": WORKLOAD}).encode(),
            {"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            return str(json.load(r)["workloadAccessToken"])


@pytest.fixture(scope="session")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vault]:
    base = (ROOT / "crates/deputy-vault-local/development.toml").read_text()
    config = tmp_path_factory.mktemp("vault") / "vault.toml"
    config.write_text(base + f'\n[[api_keys]]\nname = "search-key"\napi_key = "{API_KEY_VALUE}"\n')
    port = free_port()
    proc = subprocess.Popen(
        [str(deputy_binary()), "vault", "serve", "--config", str(config), "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    issuer = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        found = re.search(r"development IdP issuer: (\S+)", line)
        if found:
            issuer = found.group(1)
            break
    assert issuer, "deputy vault serve did not start"
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    try:
        yield Vault(f"http://127.0.0.1:{port}", issuer)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class CountingProxy:
    """Forwards HTTP to the vault and counts requests per path (the vault operation)."""

    def __init__(self, upstream: str) -> None:
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()
        up = urllib.parse.urlparse(upstream)
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                with proxy.lock:
                    proxy.calls[self.path.split("?")[0]] += 1
                conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request("POST", self.path, body, headers)
                answer = conn.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for k, v in answer.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self, operation_path: str) -> int:
        with self.lock:
            return self.calls[operation_path]


@pytest.fixture()
def proxy(vault: Vault) -> Iterator[CountingProxy]:
    p = CountingProxy(vault.endpoint)
    yield p
    p.server.shutdown()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _open(opener: urllib.request.OpenerDirector, url: str, data: dict[str, str] | None = None) -> tuple[int, str, str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with opener.open(url, body, timeout=15) as r:
            return r.status, r.headers.get("location", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("location", ""), e.read().decode()


def consent_as_browser(authorization_url: str, user: str, decision: str = "allow") -> dict[str, str]:
    """Signs in on the dev IdP's form as `user` (password = name), answers the consent form,
    and follows the vault's callback; returns the return URL's query (session_id, custom_state)."""
    opener = urllib.request.build_opener(NoRedirect)
    status, _, html = _open(opener, authorization_url)
    assert status == 200, f"authorization page: HTTP {status}"
    found = re.search(r'name="request_id" value="([^"]+)"', html)
    assert found, "no login form on the authorization page"
    request_id = found.group(1)
    page = urllib.parse.urljoin(authorization_url, "login")
    status, _, _ = _open(opener, page, {"request_id": request_id, "username": user, "password": user})
    assert status == 200, f"login as {user}: HTTP {status}"
    consent = urllib.parse.urljoin(authorization_url, "consent")
    status, to_callback, _ = _open(opener, consent, {"request_id": request_id, "decision": decision})
    assert to_callback, f"consent form answered HTTP {status} without a redirect"
    status, to_return, body = _open(opener, urllib.parse.urljoin(consent, to_callback))
    if decision != "allow":
        return {"status": str(status), "body": body}
    assert to_return, f"vault callback answered HTTP {status}: {body}"
    query = urllib.parse.parse_qs(urllib.parse.urlparse(to_return).query)
    return {k: v[0] for k, v in query.items()}
