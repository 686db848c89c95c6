"""Helpers shared by the benchmark scripts (run them from the repository root)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

#: Columns of the CICIDS2017 layouts that identify a flow or carry its label's category;
#: never features (see riskscope.io.flows).
IDENTIFIERS = [
    "id",
    "Flow ID",
    "Src IP",
    "Src Port",
    "Dst IP",
    "Dst Port",
    "Timestamp",
    "Attempted Category",
]


def machine() -> str:
    """CPU model, core count and Python version, for the result rows."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def run_child(script: str, args: list[str]) -> dict:
    """Run ``script`` (a benchmark's own file) in a fresh interpreter with ``args``; return
    the JSON object its last stdout line holds. Fresh processes give each measurement its
    own wall time and peak RSS."""
    cmd = [sys.executable, str(Path(script).resolve()), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
