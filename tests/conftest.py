"""Shared test set-up: Brian2's cython cache lives in the venv, not in $HOME."""
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "spikemem" / "data" / "ca3"  # the packaged CA3 reference (its README: provenance)
os.environ.setdefault("CYTHON_CACHE_DIR", str(Path(sys.prefix) / "brian2-cython-cache"))
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session", autouse=True)
def _brian2_cache() -> None:
    try:
        import brian2
    except ImportError:
        return
    brian2.prefs.codegen.runtime.cython.cache_dir = os.environ["CYTHON_CACHE_DIR"]
    brian2.prefs.logging.file_log = False  # no brian_debug_* files left in /tmp
