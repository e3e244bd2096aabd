"""Type stubs for the extension module deputy._deputy."""

import datetime
import os
from typing import Any, Awaitable, Callable, Iterable, Mapping, Optional, Union

__version__: str

PolicySource = Union[str, "os.PathLike[str]"]
RepoAuthorizer = Callable[[str, str, str], Union[bool, str, None]]

class Verifier:
    def __init__(
        self,
        issuer: str,
        jwks_uri: str,
        audiences: list[str],
        *,
        require_at_jwt: bool = False,
        min_refresh: Optional[float] = None,
        leeway: Optional[float] = None,
    ) -> None: ...

class GithubApp:
    def __init__(
        self,
        app_id: int,
        *,
        key_provider: Optional[str] = None,
        private_key_pem: Optional[str] = None,
        base_url: Optional[str] = None,
    ) -> None: ...

class Fallback:
    def __init__(
        self, *, latch_file: str, enabled: Optional[bool] = None, secrets_endpoint: Optional[str] = None
    ) -> None: ...

class Token:
    """A resolved token; repr/str never show the value."""
    @property
    def fingerprint(self) -> str: ...
    @property
    def flow(self) -> str: ...
    @property
    def rule_id(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def provider(self) -> Optional[str]: ...
    @property
    def expires_at(self) -> datetime.datetime: ...
    @property
    def fallback_reason(self) -> Optional[str]: ...
    def reveal(self) -> str: ...

HeaderSource = Union[Mapping[str, str], Iterable[tuple[str, str]], Any]

class Task:
    @staticmethod
    def headless(task_id: str, *, repo: Optional[str] = None, orchestrator: Optional[str] = None) -> Task: ...
    @staticmethod
    def webhook(
        task_id: str, *, user: str, repo: Optional[str] = None, orchestrator: Optional[str] = None
    ) -> Task: ...
    @staticmethod
    def interactive(
        task_id: str,
        *,
        user_jwt: str,
        issuers: Mapping[str, str],
        user: Optional[str] = None,
        repo: Optional[str] = None,
        orchestrator: Optional[str] = None,
    ) -> Task: ...
    @staticmethod
    def from_runtime_headers(
        task_id: str,
        headers: HeaderSource,
        *,
        user: Optional[str] = None,
        repo: Optional[str] = None,
        orchestrator: Optional[str] = None,
    ) -> Task: ...
    @property
    def task_id(self) -> str: ...
    @property
    def user(self) -> Optional[str]: ...
    @property
    def trigger(self) -> str: ...
    @property
    def repo(self) -> Optional[str]: ...
    @property
    def orchestrator(self) -> Optional[str]: ...

class Resolver:
    def __init__(
        self,
        workload: str,
        *,
        endpoint: Optional[str] = None,
        region: Optional[str] = None,
        policy: Optional[PolicySource] = None,
        features: Optional[Mapping[str, bool]] = None,
        return_url: Optional[str] = None,
        orchestrator: Optional[str] = None,
        verifiers: Optional[Mapping[str, Verifier]] = None,
        obo_actors: Optional[Mapping[str, str]] = None,
        cache_size: Optional[int] = None,
        cache_buffer: Optional[float] = None,
        deadline: Optional[float] = None,
        consent_session_ttl: Optional[float] = None,
        opaque_token_ttl: Optional[float] = None,
        record_user_ids: Optional[bool] = None,
        repo_authorizer: Optional[RepoAuthorizer] = None,
        repo_decision_max_age: Optional[float] = None,
        github_app: Optional[GithubApp] = None,
        fallback: Optional[Fallback] = None,
    ) -> None: ...
    def resolve_token(self, task: Task, integration: str, op: str, *, traceparent: Optional[str] = None) -> Token: ...
    def resolve_github_token(
        self, task: Task, op: str, repo: Optional[str] = None, *, traceparent: Optional[str] = None
    ) -> Token: ...
    def resolve_linear_token(self, task: Task, op: str, *, traceparent: Optional[str] = None) -> Token: ...
    def resolve_jira_token(self, task: Task, op: str, *, traceparent: Optional[str] = None) -> Token: ...
    def resolve_slack_token(self, task: Task, op: str, *, traceparent: Optional[str] = None) -> Token: ...
    def resolve_aws_native_token(self, task: Task, op: str, *, traceparent: Optional[str] = None) -> Token: ...
    def complete_consent(self, task: Task, integration: str, session_uri: str, browser_user: str) -> None: ...
    def complete_consent_callback(self, session_uri: str, custom_state: str, browser_user: str) -> None: ...
    def report_invalid_api_key(self, token: Token) -> None: ...
    def forget_user(self, user: str) -> None: ...

class AsyncResolver:
    def __init__(
        self,
        workload: str,
        *,
        endpoint: Optional[str] = None,
        region: Optional[str] = None,
        policy: Optional[PolicySource] = None,
        features: Optional[Mapping[str, bool]] = None,
        return_url: Optional[str] = None,
        orchestrator: Optional[str] = None,
        verifiers: Optional[Mapping[str, Verifier]] = None,
        obo_actors: Optional[Mapping[str, str]] = None,
        cache_size: Optional[int] = None,
        cache_buffer: Optional[float] = None,
        deadline: Optional[float] = None,
        consent_session_ttl: Optional[float] = None,
        opaque_token_ttl: Optional[float] = None,
        record_user_ids: Optional[bool] = None,
        repo_authorizer: Optional[RepoAuthorizer] = None,
        repo_decision_max_age: Optional[float] = None,
        github_app: Optional[GithubApp] = None,
        fallback: Optional[Fallback] = None,
    ) -> None: ...
    def resolve_token(
        self, task: Task, integration: str, op: str, *, traceparent: Optional[str] = None
    ) -> Awaitable[Token]: ...
    def resolve_github_token(
        self, task: Task, op: str, repo: Optional[str] = None, *, traceparent: Optional[str] = None
    ) -> Awaitable[Token]: ...
    def resolve_linear_token(self, task: Task, op: str, *, traceparent: Optional[str] = None) -> Awaitable[Token]: ...
    def resolve_jira_token(self, task: Task, op: str, *, traceparent: Optional[str] = None) -> Awaitable[Token]: ...
    def resolve_slack_token(self, task: Task, op: str, *, traceparent: Optional[str] = None) -> Awaitable[Token]: ...
    def resolve_aws_native_token(
        self, task: Task, op: str, *, traceparent: Optional[str] = None
    ) -> Awaitable[Token]: ...
    def complete_consent(
        self, task: Task, integration: str, session_uri: str, browser_user: str
    ) -> Awaitable[None]: ...
    def complete_consent_callback(self, session_uri: str, custom_state: str, browser_user: str) -> Awaitable[None]: ...
    def report_invalid_api_key(self, token: Token) -> None: ...
    def forget_user(self, user: str) -> None: ...

def init_telemetry(*, traces_url: Optional[str] = None) -> bool: ...
def shutdown_telemetry() -> None: ...

class ResolveError(Exception):
    kind: str
    integration: Optional[str]
    retry_after: Optional[float]

class ConsentRequired(ResolveError):
    authorization_url: str
    session_uri: str
    provider: str
    scopes: list[str]
    expires_at: float

class ConsentFailed(ResolveError):
    provider: str

class PolicyDenied(ResolveError):
    rule_id: str
    reason: str

class NoRule(ResolveError): ...

class RepoNotAuthorized(ResolveError):
    repo: str
    principal: str
    reason: str

class MissingContext(ResolveError): ...

class AccessDenied(ResolveError):
    operation: str
    request_id: Optional[str]

class NotFound(ResolveError):
    operation: str
    request_id: Optional[str]

class VaultUnavailable(ResolveError):
    operation: str
    request_id: Optional[str]

class InvalidToken(ResolveError):
    provider: str

class GithubAppError(ResolveError): ...
class FallbackFailed(ResolveError): ...

class DeadlineExceeded(ResolveError):
    deadline: float

class ConsentUserMismatch(ResolveError):
    provider: Optional[str]

class RandomFailed(ResolveError): ...
class CallbackRejected(ResolveError): ...

class VaultError(ResolveError):
    operation: str
    request_id: Optional[str]

class TaskError(ValueError):
    kind: str

class ConfigError(ValueError):
    kind: str
