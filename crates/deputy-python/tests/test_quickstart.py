"""The README's Python quickstart runs as written, and `mypy --strict` accepts it."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

from conftest import Vault

QUICKSTART = pathlib.Path(__file__).resolve().parents[1] / "examples" / "quickstart.py"


def test_the_readme_quickstart_runs_and_type_checks(vault: Vault) -> None:
    env = dict(os.environ, DEPUTY_VAULT_ENDPOINT=vault.endpoint)
    done = subprocess.run([sys.executable, str(QUICKSTART)], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "linear read: " in done.stdout and "m2m" in done.stdout, done.stdout
    assert "refused by rule aws-native-webhook-write" in done.stdout, done.stdout
    typed = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(QUICKSTART)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert typed.returncode == 0, typed.stdout + typed.stderr
