"""Requirement 12: every installed dependency is pinned in requirements.lock, and
pip-audit (run by `make audit` / `make check`, strict in CI) fails on a known
vulnerability in a pinned dependency."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from importlib import metadata
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)")


def _pins() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"requirements.lock: not an exact pin: {line!r}"
        pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def test_req12_every_installed_dependency_is_pinned() -> None:
    """What runs is what was audited: the environment matches the lock file."""
    pins = _pins()
    assert len(pins) > 30
    unpinned = []
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        if name in {"kitaplatz", "pip", "setuptools", "wheel"}:
            continue
        if pins.get(name) != dist.version:
            unpinned.append(f"{name}=={dist.version} (lock: {pins.get(name)})")
    assert unpinned == [], "run `make lock`: " + ", ".join(sorted(unpinned))


def _service_reachable() -> bool:
    try:
        with urllib.request.urlopen("https://pypi.org/pypi/jinja2/2.10/json", timeout=15) as r:
            return bool(json.load(r).get("vulnerabilities"))
    except Exception:  # noqa: BLE001 - any failure means we cannot audit
        return False


def test_req12_pip_audit_fails_on_a_vulnerable_pin(tmp_path: Path) -> None:
    """A lock file pinning Jinja2 2.10 (CVE-2019-10906 and others) fails the audit."""
    if not _service_reachable():
        pytest.skip("PyPI vulnerability data (JSON API, OSV) unreachable from this network")
    lock = tmp_path / "requirements.lock"
    lock.write_text("jinja2==2.10\n", encoding="utf-8")
    env = {**os.environ, "LOCK": str(lock), "VENV": str(Path(sys.executable).parent.parent)}
    result = subprocess.run(
        ["bash", str(ROOT / ".ci" / "audit")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "jinja2" in (result.stdout + result.stderr).lower()


def test_req12_audit_script_warns_loudly_without_the_service(tmp_path: Path) -> None:
    """Never a silent pass: unreachable vulnerability data is reported as not audited."""
    fake = tmp_path / "bin"
    fake.mkdir()
    # a python that cannot reach anything: the probe fails
    (fake / "python").write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
    (fake / "python").chmod(0o755)
    env = {**os.environ, "VENV": str(tmp_path), "CI": "true"}
    result = subprocess.run(
        ["bash", str(ROOT / ".ci" / "audit")], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0 and "NOT audited" in result.stderr
