"""A canary token value never shows in a repr, a log record or an exception text."""

from __future__ import annotations

import copy
import logging
import pickle

import pytest

import deputy
from conftest import API_KEY_VALUE, KEYS_POLICY, WORKLOAD, Vault


def test_the_token_value_never_appears(vault: Vault, caplog: pytest.LogCaptureFixture) -> None:
    r = deputy.Resolver(WORKLOAD, endpoint=vault.endpoint, policy=KEYS_POLICY)
    token = r.resolve_token(deputy.Task.headless("canary-1"), "search", "read")
    assert token.reveal() == API_KEY_VALUE
    texts = [repr(token), str(token), f"{token}", f"{token!r}", repr(r), repr(token.fingerprint)]
    with caplog.at_level(logging.DEBUG):
        log = logging.getLogger("agent")
        log.info("resolved %s", token)
        log.info("resolved %r", token)
        log.warning("token object: %s", {"t": token})
    texts += [record.getMessage() for record in caplog.records]
    for attempt in (lambda: pickle.dumps(token), lambda: copy.deepcopy(token)):
        with pytest.raises(TypeError) as e:
            attempt()
        texts.append(str(e.value))
    # A failing resolve's text, with the key cached beside it.
    with pytest.raises(deputy.ResolveError) as failed:
        r.resolve_linear_token(deputy.Task.headless("canary-2"), "read")
    texts += [str(failed.value), repr(failed.value)]
    for text in texts:
        assert API_KEY_VALUE not in text, text
        assert API_KEY_VALUE[8:20] not in text, text
    assert token.fingerprint in repr(token)


def test_a_runtime_wat_never_appears_in_task_or_errors() -> None:
    wat = "wat-canary-0b7c41f2a9d3e6"
    task = deputy.Task.from_runtime_headers("canary-3", {"WorkloadAccessToken": wat})
    assert wat not in repr(task)
    r = deputy.Resolver(WORKLOAD, endpoint="http://127.0.0.1:9", deadline=2)
    with pytest.raises(deputy.ResolveError) as e:
        r.resolve_linear_token(task, "read")
    assert wat not in str(e.value) and wat not in repr(e.value)
