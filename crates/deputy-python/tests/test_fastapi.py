"""The FastAPI background-thread agent (examples/fastapi_agent.py) resolves with the WAT its
request carried, and `mypy --strict` accepts the example and the installed package against the shipped stubs."""

from __future__ import annotations

import importlib.util
import pathlib
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from conftest import Vault

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "fastapi_agent.py"


def load_example(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> object:
    monkeypatch.setenv("DEPUTY_VAULT_ENDPOINT", endpoint)
    spec = importlib.util.spec_from_file_location("fastapi_agent", EXAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_request_headers_handed_to_a_background_thread(vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    agent = load_example(monkeypatch, vault.endpoint)
    client = TestClient(agent.app)  # type: ignore[attr-defined]
    wat = vault.workload_access_token()
    assert client.post("/invocations/t-fastapi-1", headers={"WorkloadAccessToken": wat}).status_code == 200
    assert client.post("/invocations/t-fastapi-2", headers={"X-Other": "none"}).status_code == 200
    first = client.get("/results/t-fastapi-1").json()["result"]
    assert first.startswith("m2m sha256:"), first
    assert wat not in first
    # A request without a WAT fails in its own thread; it never borrows another request's.
    assert client.get("/results/t-fastapi-2").json()["result"] == "failed: runtime_headers"


def test_mypy_strict_accepts_the_example() -> None:
    for target in ([str(EXAMPLE)], ["-p", "deputy"]):
        done = subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *target],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
