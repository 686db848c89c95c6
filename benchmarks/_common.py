"""Helpers shared by the benchmark scripts (run them from the repository root)."""

from __future__ import annotations

import os
import platform
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
