"""Test set-up shared by every test: import paths for the collection and the emulator."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

# The collection is importable as ansible_collections.fateops.kubefate through the link `make setup` creates.
for path in (ROOT / ".collections", ROOT / "tools"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

os.environ.setdefault("ANSIBLE_PYTHON_INTERPRETER", sys.executable)
