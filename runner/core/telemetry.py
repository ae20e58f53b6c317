"""No library telemetry from ovrun processes.

OpenVINO's converter (used by the optimum-intel export) and NNCF report usage to Google
Analytics through the openvino-telemetry package whenever no consent file exists (they treat
"never asked" as yes), so a first `ovrun` run on a fresh machine contacted the network even
with HF_HUB_OFFLINE=1 (tests/e2e/test_confinement.py caught it). A build tool must not do that
unasked. Both libraries already run without the package: they catch the ImportError and use
their no-op stubs. ovrun makes the package unimportable in its own processes, which takes
exactly that path. Set OVRUN_ALLOW_TELEMETRY=1 to leave the libraries' defaults alone."""

from __future__ import annotations

import os
import sys


def disable() -> None:
    if os.environ.get("OVRUN_ALLOW_TELEMETRY", "").strip().lower() in ("1", "true", "yes"):
        return
    # None in sys.modules makes `import openvino_telemetry` raise ImportError
    sys.modules.setdefault("openvino_telemetry", None)
    os.environ.setdefault("NNCF_CI", "1")  # and NNCF's own switch, for worker processes
