"""Python-side resolves/s on one local vault, in one run: deputy cache hit, deputy cold (every
resolve fetches: the cache buffer exceeds the token's life), and the bedrock-agentcore SDK's
IdentityClient on the same M2M provider (a WAT plus a token per call, as its decorator does).

    python resolve_bench.py DEPUTY_BIN   (see docs/performance.md)
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from typing import Callable

WORKLOAD, PROVIDER = "deputy-agent", "linear-service"


def start_vault(binary: str) -> tuple[subprocess.Popen[str], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [binary, "vault", "serve", "--listen", f"127.0.0.1:{port}"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if re.search(r"development IdP issuer", line):
            break
    return proc, f"http://127.0.0.1:{port}"


def measure(name: str, call: Callable[[], object], n: int) -> None:
    for _ in range(min(n, 200)):
        call()
    samples = []
    start = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - t0)
    elapsed = time.perf_counter() - start
    samples.sort()
    p50, p99 = samples[len(samples) // 2], samples[int(len(samples) * 0.99)]
    print(f"{name:<34} {n / elapsed:>12,.0f}/s   p50 {p50 / 1000:>9.2f} µs   p99 {p99 / 1000:>9.2f} µs   (n={n})")


def main() -> None:
    proc, endpoint = start_vault(sys.argv[1])
    os.environ.update(
        BEDROCK_AGENTCORE_DP_ENDPOINT=endpoint,
        BEDROCK_AGENTCORE_CP_ENDPOINT=endpoint,
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",
        AWS_REGION="us-east-1",
    )
    try:
        import deputy
        from bedrock_agentcore.services.identity import IdentityClient

        task = deputy.Task.headless("bench")
        hit = deputy.Resolver(WORKLOAD, endpoint=endpoint)
        assert hit.resolve_linear_token(task, "read").flow == "m2m"
        assert hit.resolve_linear_token(task, "read").source == "cache"
        cold = deputy.Resolver(WORKLOAD, endpoint=endpoint, cache_buffer=10.0 * 365 * 86400)
        assert cold.resolve_linear_token(task, "read").source == "vault"
        assert cold.resolve_linear_token(task, "read").source == "vault"

        client = IdentityClient("us-east-1")
        loop = asyncio.new_event_loop()

        def sdk() -> str:
            wat = client.get_workload_access_token(WORKLOAD)["workloadAccessToken"]
            return loop.run_until_complete(
                client.get_token(provider_name=PROVIDER, scopes=[], agent_identity_token=wat, auth_flow="M2M")
            )

        assert sdk()
        measure("deputy hit (Resolver, sync)", lambda: hit.resolve_linear_token(task, "read"), 200_000)
        measure("deputy cold (WAT + token)", lambda: cold.resolve_linear_token(task, "read"), 2_000)
        measure("bedrock-agentcore IdentityClient", sdk, 2_000)
        print(f"python {sys.version.split()[0]}, deputy {deputy.__version__}, median of per-call times")
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
