"""The backend registry: ``compile(net, backend=...)`` picks an engine by name.

Each backend module exposes ``compile(net, **options) -> Simulation`` and a
``FEATURES`` set. Engines are imported only inside their module, so importing
spikemem needs numpy alone; a missing engine raises :class:`MissingEngine`
naming the extra to install.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
from typing import Any, Protocol

from spikemem.backends.result import Result, SpikeTrains
from spikemem.errors import MissingEngine, SpikememError
from spikemem.ir.network import Network

#: backend name -> (module, engine package, extra that installs it)
BACKENDS: dict[str, tuple[str, str, str]] = {
    "brian2": ("spikemem.backends.brian2_backend", "brian2", "brian2"),
    "pynn.nest": ("spikemem.backends.pynn_backend", "pyNN.nest", "nest"),
    "pynn.brian2": ("spikemem.backends.pynn_backend", "pyNN.brian2", "pynn,brian2"),
    "pynn.spinnaker": ("spikemem.backends.pynn_backend", "pyNN.spiNNaker", "spinnaker"),
    "torch": ("spikemem.backends.torch_backend", "torch", "torch"),
}

#: what each backend claims; tests run each behaviour on every backend that claims it
FEATURES: dict[str, frozenset[str]] = {
    "brian2": frozenset({
        "IFCurrExp.exact", "IFCurrExp.fixed_step", "LIF", "SpikeSource", "Poisson",
        "one_to_one", "all_to_all", "fixed_probability", "from_list",
        "static", "stdp", "stdp.nearest", "stdp.multiplicative", "stdp.gate", "delays",
    }),
    # delays of 2 steps or more (pynn_plan.py); STDP runs on the host, exactly (ungated rules on NEST's
    # stdp_synapse under the approximation "nest_stdp")
    "pynn.nest": frozenset({
        "IFCurrExp.exact", "SpikeSource", "Poisson", "one_to_one", "all_to_all", "fixed_probability",
        "from_list", "static", "stdp", "stdp.nearest", "stdp.multiplicative", "stdp.gate", "delays",
    }),
    # what the suite can afford to check on pyNN.brian2 (each network compiles for ~20 s there);
    # it also runs the plastic CA3 event for event as Brian2, one step at a time (about 28 s for the functional experiment; tests/test_pynn_backend.py)
    "pynn.brian2": frozenset({"IFCurrExp.exact", "SpikeSource", "one_to_one", "all_to_all", "fixed_probability",
                              "from_list", "static", "delays"}),
    # runs need a SpiNNaker board; here it maps on a virtual one (spikemem.export.spinnaker)
    "pynn.spinnaker": frozenset(),
    # CPU float64: Brian2's spikes (tests/test_equivalence.py, tests/test_torch_backend.py); "batch": B trials at once
    "torch": frozenset({
        "IFCurrExp.exact", "IFCurrExp.fixed_step", "LIF", "SpikeSource", "Poisson",
        "one_to_one", "all_to_all", "fixed_probability", "from_list",
        "static", "stdp", "stdp.nearest", "stdp.multiplicative", "stdp.gate", "delays", "batch",
    }),
}

#: backend name -> the options its ``compile`` takes, in signature order. Checked in
#: :func:`compile` before the engine is imported, so a misplaced option is never ignored;
#: tests/test_backend_options.py keeps it in step with the backends' signatures.
OPTIONS: dict[str, tuple[str, ...]] = {
    "brian2": ("target", "standalone_dir"),
    "pynn.nest": ("threads", "approximations"),
    "pynn.brian2": ("approximations",),      # only NEST runs threads
    "pynn.spinnaker": ("approximations",),
    "torch": ("device", "dtype", "batch", "stimuli"),
}


class UnknownOption(SpikememError, TypeError):
    """``compile`` got an option its backend does not take (see :data:`OPTIONS`)."""


def check_options(backend: str, options: dict[str, Any] | list[str] | tuple[str, ...]) -> None:
    """Raise :class:`UnknownOption` naming every option in ``options`` that ``backend`` does not take,
    what it takes, and which backends take the option instead."""
    allowed = OPTIONS.get(backend)
    if allowed is None:  # a backend registered without an options table checks its own
        return
    wrong = [name for name in options if name not in allowed]
    if not wrong:
        return
    owners = []
    for name in wrong:
        takers = [b for b, names in OPTIONS.items() if name in names]
        owners.append(f"'{name}' is an option of: {', '.join(takers)}" if takers else f"no backend takes '{name}'")
    listed = ", ".join(f"'{name}'" for name in wrong)
    raise UnknownOption(f"backend '{backend}' takes no option{'s' if len(wrong) > 1 else ''} {listed} "
                        f"(it takes: {', '.join(allowed) or 'none'}); {'; '.join(owners)}")


class Simulation(Protocol):
    """A compiled network. ``run(duration)`` advances it by ``duration`` ms and returns
    everything recorded since the start."""

    def run(self, duration: float) -> Result: ...


def supporting(feature: str) -> list[str]:
    """Names of the backends that claim ``feature`` (for parametrised tests)."""
    return [name for name, feats in FEATURES.items() if feature in feats]


def compile(net: Network, backend: str = "brian2", **options: Any) -> Simulation:
    """Check ``net`` and build it on ``backend`` (see :data:`BACKENDS`)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend '{backend}' (available: {', '.join(BACKENDS)})")
    check_options(backend, options)
    net.check()
    module_name, engine, extra = BACKENDS[backend]
    if backend == "pynn.nest":
        os.environ.setdefault("PYNEST_QUIET", "1")  # NEST prints a banner to stdout on import
    try:
        found = importlib.util.find_spec(engine) is not None  # the backend imports it (quietly)
    except ImportError:
        found = False
    if not found:
        raise MissingEngine(backend, engine, extra)
    module = importlib.import_module(module_name)
    if backend.startswith("pynn."):
        options["engine"] = backend
    return module.compile(net, **options)


__all__ = ["BACKENDS", "FEATURES", "OPTIONS", "Result", "SpikeTrains", "Simulation", "UnknownOption",
           "check_options", "compile", "supporting"]
