"""The lock files in requirements/ pin everything pyproject.toml asks for (`make lock` after a change).

`make` installs from the locks only, so a dependency added to pyproject.toml without re-locking would be
missing on a fresh machine; this catches it before CI's fresh install would.
"""

from __future__ import annotations

import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.tools import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def pins(lock: str) -> dict[str, str]:
    found = {}
    for line in (ROOT / "requirements" / lock).read_text().splitlines():
        if line and not line.startswith(("#", " ", "-")):
            requirement = Requirement(line.removesuffix("\\").strip())  # its hashes follow
            [specifier] = requirement.specifier
            assert specifier.operator == "==", f"{lock}: {line} is not an exact pin"
            found[canonicalize_name(requirement.name)] = specifier.version
    return found


def declared(requirements: list[str]) -> list[Requirement]:
    return [Requirement(text) for text in requirements]


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [
        ("runtime.txt", PROJECT["project"]["dependencies"]),
        ("dev.txt", PROJECT["project"]["dependencies"] + PROJECT["project"]["optional-dependencies"]["dev"]),
        ("tools.txt", PROJECT["dependency-groups"]["tools"]),
    ],
)
def test_each_lock_pins_every_declared_dependency_within_its_range(lock, requirements):
    pinned = pins(lock)
    for requirement in declared(requirements):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement} is not in requirements/{lock}: run `make lock`"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"requirements/{lock} pins {name}=={pinned[name]}, outside {requirement}: run `make lock`"
        )


def test_the_runtime_runs_on_exactly_the_versions_the_tests_run_on():
    runtime, dev = pins("runtime.txt"), pins("dev.txt")
    assert {name: dev.get(name) for name in runtime} == runtime


def test_the_checkers_do_not_hold_the_runtime_back():
    # checkov pins an old boto3: it lives in .venv-tools, and neither runtime lock contains it.
    assert "checkov" not in pins("dev.txt") and "checkov" not in pins("runtime.txt")
    assert "checkov" in pins("tools.txt")


@pytest.mark.parametrize("lock", ["runtime.txt", "dev.txt", "tools.txt", "drain3.txt"])
def test_every_pin_carries_the_hashes_the_install_checks(lock):
    """`make` installs with --require-hashes: a pin without a hash would stop a fresh install."""
    text = (ROOT / "requirements" / lock).read_text()
    entries = [entry for entry in text.replace("\\\n", " ").splitlines() if entry and entry[0].isalnum()]
    assert entries
    unhashed = [entry.split()[0] for entry in entries if "--hash=sha256:" not in entry]
    assert unhashed == []
