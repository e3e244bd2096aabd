"""Single flight from Python: 1,000 concurrent asyncio resolves of one key, and 32 threads,
each make one vault call (counted by a proxy in front of `deputy vault serve`)."""

from __future__ import annotations

import asyncio
import threading

import deputy
from conftest import WORKLOAD, CountingProxy

TOKEN = "/identities/oauth2/token"
WAT = "/identities/GetWorkloadAccessToken"


def test_a_thousand_asyncio_resolves_make_one_vault_call(proxy: CountingProxy) -> None:
    async def run() -> list[deputy.Token]:
        r = deputy.AsyncResolver(WORKLOAD, endpoint=proxy.endpoint)
        task = deputy.Task.headless("flight-async")
        return await asyncio.wait_for(
            asyncio.gather(*(r.resolve_slack_token(task, "read") for _ in range(1000))), timeout=60
        )

    tokens = asyncio.run(run())
    assert len(tokens) == 1000
    assert len({t.reveal() for t in tokens}) == 1
    assert proxy.count(TOKEN) == 1
    assert proxy.count(WAT) == 1


def test_thirty_two_threads_make_one_vault_call(proxy: CountingProxy) -> None:
    r = deputy.Resolver(WORKLOAD, endpoint=proxy.endpoint)
    task = deputy.Task.headless("flight-threads")
    barrier = threading.Barrier(32)
    results: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        barrier.wait()
        token = r.resolve_linear_token(task, "read")
        with lock:
            results.append(token.reveal())

    threads = [threading.Thread(target=work) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 32 and len(set(results)) == 1
    assert proxy.count(TOKEN) == 1
    assert proxy.count(WAT) == 1
