"""What every benchmark records about the machine and the checkout it ran on."""
from __future__ import annotations

import subprocess
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
