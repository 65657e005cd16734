"""spikemem imports with numpy alone, and a missing engine names its extra."""
import subprocess
import sys

import pytest

import spikemem
from spikemem import backends
from spikemem.errors import MissingEngine


def test_import_loads_no_engine():
    code = ("import sys, spikemem; heavy = [m for m in ('brian2', 'torch', 'pyNN', 'spynnaker', 'matplotlib') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_engine_names_the_extra(monkeypatch):
    monkeypatch.setitem(backends.BACKENDS, "ghost", ("spikemem.backends.ghost", "no_such_engine_pkg", "ghost"))
    with pytest.raises(MissingEngine, match=r"pip install 'spikemem\[ghost\]'"):
        spikemem.compile(spikemem.Network(dt=1.0), backend="ghost")


def test_unknown_backend_lists_the_known_ones():
    with pytest.raises(ValueError, match="available: brian2"):
        spikemem.compile(spikemem.Network(dt=1.0), backend="loihi")


def test_supporting_lists_claimed_features():
    assert backends.supporting("stdp.gate") == ["brian2", "pynn.nest", "torch"]
    assert backends.supporting("IFCurrExp.fixed_step") == ["brian2", "torch"]
    assert backends.supporting("no-such-feature") == []
