"""What the numbers were measured on: the machine, the interpreter, the broker; and RSS.

Every figure of a benchmark depends on these, so the results file names them. Memory is read
from ``/proc/<pid>/status`` (Linux): ``VmRSS`` is what the process holds now, ``VmHWM`` the
most it has held.
"""

from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

_KIB_PER_MIB = 1024


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def _memory_mib() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // _KIB_PER_MIB
    except (OSError, ValueError, IndexError):
        return None
    return None


def _package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def tansu_version(binary: Path) -> str | None:
    try:
        completed = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return None
    return completed.stdout.strip() or None


def machine_info() -> dict[str, Any]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpus": os.cpu_count(),
        "cpus_usable": usable,
        "cpu_model": _cpu_model(),
        "memory_mib": _memory_mib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "aiokafka": _package_version("aiokafka"),
        "pydantic": _package_version("pydantic"),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


_TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a live process has used so far (None if it is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; the fields after its closing ")" do not.
    fields = text.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_S


def memory_of(pid: int) -> dict[str, float] | None:
    """``{"rss_mib", "peak_rss_mib"}`` of a live process, None if it is gone."""
    fields: dict[str, float] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(rest.split()[0]) / _KIB_PER_MIB
    if "VmRSS" not in fields:
        return None
    return {
        "rss_mib": round(fields["VmRSS"], 1),
        "peak_rss_mib": round(fields.get("VmHWM", fields["VmRSS"]), 1),
    }
