"""Where the command-line checkers the tests run live (checkov, parliament, schemathesis).

`make` installs them in an environment of their own, `.venv-tools` (requirements/tools.txt), so their pins
never hold back the dashboard's (checkov pins boto3). TOOLS_BIN overrides; an environment that has them
beside the interpreter running the tests (an older single venv) still works.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def tool(name: str) -> str:
    for folder in (os.getenv("TOOLS_BIN"), ROOT / ".venv-tools" / "bin", Path(sys.executable).parent):
        if folder and (Path(folder) / name).exists():
            return str(Path(folder) / name)
    raise FileNotFoundError(f"{name} is not installed: run `make install-tools` (it goes in .venv-tools)")
