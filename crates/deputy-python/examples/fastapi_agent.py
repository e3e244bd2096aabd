"""The ABCA pattern: a FastAPI agent that hands the request's headers to a background thread,
which builds its own deputy.Task from them (no context variables) and resolves there."""

from __future__ import annotations

import os
import threading
from typing import Any

from fastapi import FastAPI, Request

import deputy

WORKLOAD = "deputy-agent"
resolver = deputy.Resolver(WORKLOAD, endpoint=os.environ.get("DEPUTY_VAULT_ENDPOINT"))
app = FastAPI()
results: dict[str, str] = {}
done: dict[str, threading.Event] = {}


def work(task_id: str, headers: dict[str, str]) -> None:
    """Runs on its own thread with a plain dict copied from the request."""
    try:
        task = deputy.Task.from_runtime_headers(task_id, headers)
        token = resolver.resolve_linear_token(task, "read")
        results[task_id] = f"{token.flow} {token.fingerprint}"
    except (deputy.ResolveError, deputy.TaskError) as error:
        results[task_id] = f"failed: {error.kind}"
    finally:
        done[task_id].set()


@app.post("/invocations/{task_id}")
async def invoke(task_id: str, request: Request) -> dict[str, Any]:
    done[task_id] = threading.Event()
    threading.Thread(target=work, args=(task_id, dict(request.headers)), daemon=True).start()
    return {"accepted": task_id}


@app.get("/results/{task_id}")
def result(task_id: str) -> dict[str, Any]:
    event = done.get(task_id)
    if event is None or not event.wait(timeout=30):
        return {"task_id": task_id, "result": None}
    return {"task_id": task_id, "result": results[task_id]}
