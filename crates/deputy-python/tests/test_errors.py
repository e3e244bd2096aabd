"""Every exception type a Python caller can meet, each from a real failure."""

from __future__ import annotations

import pathlib
import socket
import threading
from typing import Iterator

import pytest

import deputy
from conftest import KEYS_POLICY, WORKLOAD, Vault, consent_as_browser, free_port


def resolver(vault: Vault, **options: object) -> deputy.Resolver:
    return deputy.Resolver(WORKLOAD, endpoint=vault.endpoint, **options)  # type: ignore[arg-type]


@pytest.fixture()
def silent_vault() -> Iterator[str]:
    """Accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    for s in held:
        s.close()
    server.close()


def test_consent_required_carries_url_and_provider(vault: Vault) -> None:
    r = resolver(vault, return_url=f"http://127.0.0.1:{free_port()}/cb")
    task = deputy.Task.interactive("e-1", user_jwt=vault.user_token("bob"), issuers={vault.issuer: "dev"})
    with pytest.raises(deputy.ConsentRequired) as e:
        r.resolve_slack_token(task, "read")
    assert isinstance(e.value, deputy.ResolveError)
    assert e.value.kind == "consent_required" and e.value.integration == "slack"
    assert e.value.provider == "slack" and e.value.authorization_url


def test_consent_failed_after_the_user_denies(vault: Vault) -> None:
    r = resolver(vault, return_url=f"http://127.0.0.1:{free_port()}/cb")
    task = deputy.Task.interactive("e-2", user_jwt=vault.user_token("bob"), issuers={vault.issuer: "dev"})
    with pytest.raises(deputy.ConsentRequired) as e:
        r.resolve_jira_token(task, "read")
    consent_as_browser(e.value.authorization_url, "bob", decision="deny")
    with pytest.raises(deputy.ConsentFailed) as failed:
        r.resolve_jira_token(task, "read")
    assert failed.value.provider == "jira"


def test_policy_denied(vault: Vault) -> None:
    with pytest.raises(deputy.PolicyDenied) as e:
        resolver(vault).resolve_aws_native_token(deputy.Task.webhook("e-3", user="dev+bob"), "write")
    assert e.value.rule_id == "aws-native-webhook-write"
    assert "verified user JWT" in str(e.value)


def test_no_rule(vault: Vault) -> None:
    with pytest.raises(deputy.NoRule):
        resolver(vault, policy=KEYS_POLICY).resolve_token(deputy.Task.headless("e-4"), "search2", "read")


def test_repo_not_authorized(vault: Vault) -> None:
    asked: list[tuple[str, str, str]] = []

    def authorizer(principal: str, repo: str, op: str) -> str:
        asked.append((principal, repo, op))
        return "not on the allow-list"

    r = resolver(vault, repo_authorizer=authorizer)
    with pytest.raises(deputy.RepoNotAuthorized) as e:
        r.resolve_github_token(deputy.Task.headless("e-5"), "write", "octo-org/app")
    assert e.value.repo == "octo-org/app" and "allow-list" in e.value.reason
    assert asked and asked[0][1:] == ("octo-org/app", "write")


def test_missing_context_for_github_without_a_repository(vault: Vault) -> None:
    with pytest.raises(deputy.MissingContext) as e:
        resolver(vault).resolve_github_token(deputy.Task.headless("e-6"), "read")
    assert "repo=" in str(e.value)


def test_not_found_for_an_unknown_workload(vault: Vault) -> None:
    r = deputy.Resolver("no-such-workload", endpoint=vault.endpoint)
    with pytest.raises(deputy.NotFound) as e:
        r.resolve_linear_token(deputy.Task.headless("e-7"), "read")
    assert e.value.operation == "GetWorkloadAccessToken"


def test_vault_error_for_a_return_url_off_the_allow_list(vault: Vault) -> None:
    r = resolver(vault, return_url="https://attacker.example/cb")
    task = deputy.Task.interactive("e-8", user_jwt=vault.user_token("bob"), issuers={vault.issuer: "dev"})
    with pytest.raises(deputy.ResolveError) as e:
        r.resolve_linear_token(task, "read")
    assert type(e.value) is deputy.VaultError, type(e.value)
    assert e.value.kind == "vault"


def test_vault_unavailable_with_retry_after_attribute() -> None:
    r = deputy.Resolver(WORKLOAD, endpoint=f"http://127.0.0.1:{free_port()}", deadline=5)
    with pytest.raises(deputy.VaultUnavailable) as e:
        r.resolve_linear_token(deputy.Task.headless("e-9"), "read")
    assert e.value.retry_after is None or e.value.retry_after >= 0
    assert "retry later" in str(e.value)


def test_deadline_exceeded(silent_vault: str) -> None:
    r = deputy.Resolver(WORKLOAD, endpoint=silent_vault, deadline=0.5)
    with pytest.raises(deputy.DeadlineExceeded) as e:
        r.resolve_linear_token(deputy.Task.headless("e-10"), "read")
    assert e.value.deadline == 0.5


def test_invalid_token_when_the_verifier_expects_another_audience(vault: Vault) -> None:
    wrong = deputy.Verifier(vault.issuer, f"{vault.issuer}/jwks", ["someone-else"])
    r = resolver(vault, verifiers={"aws-native": wrong})
    task = deputy.Task.interactive("e-11", user_jwt=vault.user_token("alice"), issuers={vault.issuer: "dev"})
    with pytest.raises(deputy.InvalidToken) as e:
        r.resolve_aws_native_token(task, "read")
    assert e.value.provider == "aws-native"


def test_consent_user_mismatch_binds_nothing(vault: Vault) -> None:
    r = resolver(vault, return_url=f"http://127.0.0.1:{free_port()}/cb")
    task = deputy.Task.interactive("e-12", user_jwt=vault.user_token("alice"), issuers={vault.issuer: "dev"})
    with pytest.raises(deputy.ConsentRequired) as e:
        r.resolve_slack_token(task, "write")
    back = consent_as_browser(e.value.authorization_url, "alice")
    with pytest.raises(deputy.ConsentUserMismatch):
        r.complete_consent_callback(back["session_id"], back["custom_state"], "dev+mallory")
    with pytest.raises(deputy.ConsentUserMismatch):
        r.complete_consent(task, "slack", back["session_id"], "dev+mallory")
    with pytest.raises(deputy.ConsentRequired):
        r.resolve_slack_token(task, "write")


def test_callback_rejected_for_an_unknown_state(vault: Vault) -> None:
    with pytest.raises(deputy.CallbackRejected):
        resolver(vault).complete_consent_callback("urn:session", "forged-state", "dev+alice")


def test_task_error_when_the_user_disagrees_with_the_binding(vault: Vault) -> None:
    jwt = vault.user_token("alice")
    with pytest.raises(deputy.TaskError) as e:
        deputy.Task.interactive("e-13", user_jwt=jwt, issuers={vault.issuer: "dev"}, user="dev+bob")
    assert e.value.kind == "user_mismatch"
    headers = {"WorkloadAccessToken": "wat", "X-Amzn-Bedrock-AgentCore-Runtime-User-Id": "dev+alice"}
    with pytest.raises(deputy.TaskError):
        deputy.Task.from_runtime_headers("e-14", headers, user="dev+mallory")
    with pytest.raises(deputy.TaskError) as missing:
        deputy.Task.from_runtime_headers("e-15", {"content-type": "text/plain"})
    assert missing.value.kind == "runtime_headers"
    with pytest.raises(deputy.TaskError):
        deputy.Task.from_runtime_headers("e-16", [("h", "v")] * 1000)


def test_config_errors_are_named() -> None:
    with pytest.raises(TypeError, match='unknown resolver option "cache_sise"'):
        deputy.Resolver(WORKLOAD, cache_sise=10)  # type: ignore[call-arg]
    with pytest.raises(deputy.ConfigError):
        deputy.Resolver(WORKLOAD, policy="version = 1\n[[rule]]\nbogus = 1\n")
    with pytest.raises(deputy.ConfigError):
        deputy.Resolver(WORKLOAD, deadline=-1.0)
    with pytest.raises(ValueError, match='"read" or "write"'):
        deputy.Resolver(WORKLOAD, endpoint="http://127.0.0.1:9").resolve_linear_token(
            deputy.Task.headless("e-17"), "delete"
        )


def test_fallback_failed_when_the_vault_and_the_secret_are_both_down(tmp_path: pathlib.Path) -> None:
    from conftest import ROOT

    table = (ROOT / "crates/deputy-core/src/policy/default.toml").read_text()
    table = table.replace('id = "service-read"', 'id = "service-read"\nsecrets_manager_fallback = true')
    for name in ("linear", "jira", "slack", "aws-native"):
        table += f'\n[fallback.{name}]\nsecret_id = "{name}-service-token"\nshape = "raw"\n'
    r = deputy.Resolver(
        WORKLOAD,
        endpoint=f"http://127.0.0.1:{free_port()}",
        policy=table,
        deadline=8,
        fallback=deputy.Fallback(
            latch_file=str(tmp_path / "latch.json"),
            enabled=True,
            secrets_endpoint=f"http://127.0.0.1:{free_port()}",
        ),
    )
    with pytest.raises(deputy.FallbackFailed) as e:
        r.resolve_linear_token(deputy.Task.headless("e-18"), "read")
    assert "Secrets Manager fallback failed too" in str(e.value)
