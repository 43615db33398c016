"""The core is a plain package: importing it pulls in no web framework or app code."""

from __future__ import annotations

import subprocess
import sys


def test_import_leaves_web_stack_out() -> None:
    code = (
        "import sys, allocation, allocation.__main__, allocation.cpsat, allocation.generate, "
        "allocation.bench\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'kita')]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""
