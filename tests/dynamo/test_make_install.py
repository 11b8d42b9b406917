"""`make run` and `make serve` install only what the dashboard needs to run; `make test` and
`make bench` install the test toolchain too (each its own stamp, so one never undoes the other)."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _planned(target: str) -> str:
    """What `make` would run for the target in a clean clone (-B: everything out of date)."""
    return subprocess.run(
        ["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def test_make_run_and_make_serve_install_only_the_runtime():
    for target in ("run", "serve"):
        plan = _planned(target)
        # the lock, runtime only
        assert "pip install -q --require-hashes -r requirements/runtime.txt" in plan, target
        assert "requirements/dev.txt" not in plan, target


def test_make_test_and_make_bench_install_the_dev_toolchain_with_their_own_stamp():
    for target in ("test", "bench"):
        plan = _planned(target)
        # the lock, test tools included
        assert "pip install -q --require-hashes -r requirements/dev.txt" in plan, target
        assert "touch .venv/.installed-dev" in plan, target
