"""Heavy imports run with the cycle collector paused and end frozen (in a fresh process)."""

from __future__ import annotations

import json
import subprocess
import sys

from recipes_util import REPO

_PROBE = """
import gc, json, sys
from runner.executor import heavy_imports
assert "xml.dom.minidom" not in sys.modules
heavy_imports.import_all(["xml.dom.minidom", "no_such_module_ovrun"])
first = gc.get_freeze_count()
heavy_imports.import_all(["xml.dom.minidom"])  # nothing new: no second freeze
print(json.dumps({
    "imported": "xml.dom.minidom" in sys.modules,
    "frozen": first,
    "refrozen": gc.get_freeze_count() != first,
    "enabled": gc.isenabled(),
}))
"""


def test_imports_freeze_once_and_leave_the_collector_on():
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=REPO, capture_output=True, text=True, check=True
    )
    found = json.loads(out.stdout)
    assert found["imported"] and found["enabled"]
    assert found["frozen"] > 1000  # what was alive after the imports is out of the collector's way
    assert not found["refrozen"]
