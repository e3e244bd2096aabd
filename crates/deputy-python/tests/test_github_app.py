"""The GitHub App flow from Python against a fake GitHub on 127.0.0.1 that checks the App JWT's
RS256 signature (with openssl), `iss`, and that each token is scoped to the task's repository."""

from __future__ import annotations

import base64
import http.server
import json
import pathlib
import secrets
import subprocess
import threading
import time
from typing import Any, Iterator

import pytest

import deputy
from conftest import WORKLOAD, Vault

APP_ID = 424242
INSTALLATION = 9001


def b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class FakeGithub:
    def __init__(self, directory: pathlib.Path) -> None:
        self.key = directory / "app.pem"
        self.public = directory / "app.pub.pem"
        subprocess.run(
            ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(self.key)],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            ["openssl", "pkey", "-in", str(self.key), "-pubout", "-out", str(self.public)], check=True, capture_output=True
        )
        self.directory = directory
        self.bodies: list[dict[str, Any]] = []
        self.problems: list[str] = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if not fake.app_jwt_ok(self.headers.get("authorization", "")):
                    return self.answer(401, {"message": "A JSON web token could not be decoded"})
                if self.path == "/repos/octo-org/app/installation":
                    return self.answer(200, {"id": INSTALLATION, "app_id": APP_ID, "account": {"login": "octo-org"},
                                             "permissions": {"contents": "write", "pull_requests": "write", "metadata": "read"},
                                             "repository_selection": "selected"})
                self.answer(404, {"message": "Not Found"})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))) or b"{}")
                if not fake.app_jwt_ok(self.headers.get("authorization", "")):
                    return self.answer(401, {"message": "A JSON web token could not be decoded"})
                if self.path != f"/app/installations/{INSTALLATION}/access_tokens":
                    return self.answer(404, {"message": "Not Found"})
                fake.bodies.append(body)
                expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
                self.answer(201, {"token": f"ghs_{APP_ID}_{secrets.token_hex(24)}", "expires_at": expires,
                                  "permissions": body.get("permissions", {}), "repository_selection": "selected"})

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def app_jwt_ok(self, authorization: str) -> bool:
        if not authorization.startswith("Bearer "):
            self.problems.append("no bearer token")
            return False
        header, claims, signature = authorization[len("Bearer ") :].split(".")
        signed = self.directory / f"signed-{secrets.token_hex(4)}"
        sig = self.directory / f"sig-{secrets.token_hex(4)}"
        signed.write_bytes(f"{header}.{claims}".encode())
        sig.write_bytes(b64(signature))
        verified = subprocess.run(
            ["openssl", "dgst", "-sha256", "-verify", str(self.public), "-signature", str(sig), str(signed)],
            capture_output=True,
        )
        if verified.returncode != 0 or json.loads(b64(header))["alg"] != "RS256":
            self.problems.append("bad signature")
            return False
        if json.loads(b64(claims)).get("iss") not in (APP_ID, str(APP_ID)):
            self.problems.append("wrong iss")
            return False
        return True


@pytest.fixture()
def github(tmp_path: pathlib.Path) -> Iterator[FakeGithub]:
    fake = FakeGithub(tmp_path)
    yield fake
    fake.server.shutdown()


def test_github_app_token_scoped_to_the_tasks_repository(vault: Vault, github: FakeGithub) -> None:
    r = deputy.Resolver(
        WORKLOAD,
        endpoint=vault.endpoint,
        features={"github-app": True},
        repo_authorizer=lambda principal, repo, op: repo == "octo-org/app",
        github_app=deputy.GithubApp(APP_ID, private_key_pem=github.key.read_text(), base_url=github.url),
    )
    token = r.resolve_github_token(deputy.Task.headless("gh-1"), "write", "octo-org/app")
    assert token.flow == "github_app" and token.rule_id == "github-app-write"
    assert token.reveal().startswith(f"ghs_{APP_ID}_")
    assert github.problems == []
    assert github.bodies[-1]["repositories"] == ["app"]
    assert github.bodies[-1]["permissions"] == {"contents": "write", "pull_requests": "write"}
    with pytest.raises(deputy.RepoNotAuthorized):
        r.resolve_github_token(deputy.Task.headless("gh-2"), "write", "octo-org/other")


def test_github_app_with_the_wrong_key_is_a_github_app_error(vault: Vault, github: FakeGithub, tmp_path: pathlib.Path) -> None:
    other = tmp_path / "other.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(other)],
                   check=True, capture_output=True)
    r = deputy.Resolver(
        WORKLOAD,
        endpoint=vault.endpoint,
        features={"github-app": True},
        github_app=deputy.GithubApp(APP_ID, private_key_pem=other.read_text(), base_url=github.url),
    )
    with pytest.raises(deputy.GithubAppError) as e:
        r.resolve_github_token(deputy.Task.headless("gh-3"), "read", "octo-org/app")
    assert "BEGIN" not in str(e.value)
    assert github.problems == ["bad signature"] * len(github.problems) and github.problems
