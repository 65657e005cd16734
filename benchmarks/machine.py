"""What every benchmark records about the machine and the checkout it ran on."""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_cmd(*args: str) -> str | None:
    """A command's stdout (stripped), or None if it cannot run."""
    try:
        return subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def checkout() -> dict[str, object]:
    """The commit measured, and whether the measured code differed from it."""
    return {"spikemem_commit": run_cmd("git", "rev-parse", "HEAD"),
            "spikemem_tree_modified": bool(run_cmd("git", "status", "--porcelain", "--", "spikemem", "models"))}


def write_report(report: dict, out: str | Path, start: float) -> Path:
    """Stamp ``report`` with the closing load average and the benchmark's wall time (from
    ``start``, a ``time.perf_counter()`` value) and write it as JSON to ``out``."""
    report["machine"]["load_average_end"] = list(os.getloadavg())
    report["benchmark_wall_s"] = round(time.perf_counter() - start, 1)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    return out
