"""`deputy.resolve` spans exported over OTLP/HTTP from Python, under the caller's trace: a W3C
`traceparent` argument, or opentelemetry-python's current span. Runs in a child process, as the
exporter is a process-wide subscriber."""

from __future__ import annotations

import http.server
import subprocess
import sys
import textwrap
import threading

from conftest import WORKLOAD, Vault

CHILD = textwrap.dedent(
    """
    import sys
    import deputy
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    endpoint, traces_url = sys.argv[1], sys.argv[2]
    assert deputy.init_telemetry(traces_url=traces_url)
    r = deputy.Resolver(%r, endpoint=endpoint)
    r.resolve_linear_token(
        deputy.Task.headless("otel-1"), "read",
        traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    )
    trace.set_tracer_provider(TracerProvider())
    with trace.get_tracer("agent").start_as_current_span("agent.work") as span:
        ctx = span.get_span_context()
        r.resolve_jira_token(deputy.Task.headless("otel-2"), "read")
    print(format(ctx.trace_id, "032x"), format(ctx.span_id, "016x"))
    deputy.shutdown_telemetry()
    """
    % WORKLOAD
)


def test_resolve_spans_have_the_callers_parent(vault: Vault) -> None:
    bodies: list[bytes] = []

    class Collector(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            bodies.append(self.rfile.read(int(self.headers.get("content-length", "0"))))
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", "0")
            self.end_headers()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
        done = subprocess.run(
            [sys.executable, "-c", CHILD, vault.endpoint, url], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        python_trace, python_span = done.stdout.split()
    finally:
        server.shutdown()
    exported = b"".join(bodies)
    assert b"deputy.resolve" in exported
    # OTLP protobuf carries ids as raw bytes: the span's trace id and parent span id.
    assert bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736") in exported
    assert bytes.fromhex("00f067aa0ba902b7") in exported
    assert bytes.fromhex(python_trace) in exported
    assert bytes.fromhex(python_span) in exported
