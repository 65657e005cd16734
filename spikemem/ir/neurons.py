"""Neuron models of the description.

Units are fixed by the IR: ms, mV, nA, nF. Parameter names follow PyNN's
standard models (``IF_curr_exp``) and snnTorch's ``Leaky`` so users of
either read them without a guide.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from spikemem.ir.synapses import DISTRIBUTIONS, Distribution

#: an initial state: one number for every neuron, a distribution drawn from the network
#: seed (:func:`spikemem.ir.connectivity.initial_values`), or one value per neuron
InitialValue = float | Distribution | list[float]


@dataclass
class IFCurrExp:
    """Leaky integrate-and-fire neuron with exponential current synapses (PyNN ``IF_curr_exp``).

    cm (nF), tau_m / tau_refrac / tau_syn_E / tau_syn_I (ms), v_rest / v_reset /
    v_thresh (mV), i_offset (nA). ``v_init`` (mV) is a number, a ``normal`` /
    ``uniform`` distribution or one value per neuron. A neuron fires in a step where
    ``v >= v_thresh`` after the membrane update, then ``v`` is held at
    ``v_reset`` for ``round(tau_refrac / dt)`` steps, while its synaptic
    currents keep decaying.

    ``integration`` says how a step of ``dt`` is integrated; both are exact
    per-step linear maps of ``(v, I_exc, I_inh)``, they differ in how an input
    spike enters (see :mod:`spikemem.ir.dynamics`):

    - ``"exact"``: the PyNN ODEs solved exactly over the step, an input spike of
      weight ``w`` jumps the current by ``w`` (NEST ``iaf_psc_exp``, pyNN.brian2).
    - ``"fixed_step"``: as sPyNNaker integrates it: an input spike adds
      ``w * tau_syn/dt * (1 - exp(-dt/tau_syn))`` to a current held constant over
      the step, the membrane relaxes towards ``v_rest + R (I + i_offset)``.
    """

    kind: ClassVar[str] = "IFCurrExp"
    cm: float = 1.0
    tau_m: float = 20.0
    tau_refrac: float = 0.1
    tau_syn_E: float = 5.0
    tau_syn_I: float = 5.0
    v_rest: float = -65.0
    v_reset: float = -65.0
    v_thresh: float = -50.0
    i_offset: float = 0.0
    v_init: InitialValue = -65.0
    integration: Literal["exact", "fixed_step"] = "exact"

    recordables: ClassVar[tuple[str, ...]] = ("spikes", "v", "isyn_exc", "isyn_inh")

    def problems(self) -> list[tuple[str, str]]:
        out = []
        for name in ("cm", "tau_m", "tau_syn_E", "tau_syn_I"):
            if not getattr(self, name) > 0:
                out.append((name, f"must be > 0, got {getattr(self, name)}"))
        if self.tau_refrac < 0:
            out.append(("tau_refrac", f"must be >= 0, got {self.tau_refrac}"))
        if self.v_reset >= self.v_thresh:
            out.append(("v_reset", f"must be below v_thresh ({self.v_thresh}), got {self.v_reset}"))
        return out + initial_value_problems("v_init", self.v_init)


@dataclass
class LIF:
    """Discrete-time leaky neuron with snnTorch ``Leaky`` semantics (dimensionless).

    Each step: ``reset = mem_prev > threshold``;
    ``mem = beta * mem_prev + input - reset * threshold`` (``reset="subtract"``) or
    ``mem = beta * mem_prev * (1 - reset) + input`` (``reset="zero"``); a spike when
    ``mem > threshold``. ``input`` is the sum of the weights of the spikes that
    arrive in the step (excitatory positive, inhibitory negative). ``mem_init`` is a
    number, a ``normal`` / ``uniform`` distribution or one value per neuron.
    """

    kind: ClassVar[str] = "LIF"
    beta: float = 0.9
    threshold: float = 1.0
    reset: Literal["subtract", "zero"] = "subtract"
    mem_init: InitialValue = 0.0

    recordables: ClassVar[tuple[str, ...]] = ("spikes", "mem")

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if not 0.0 <= self.beta <= 1.0:
            out.append(("beta", f"must be in [0, 1], got {self.beta}"))
        if not self.threshold > 0:
            out.append(("threshold", f"must be > 0, got {self.threshold}"))
        return out + initial_value_problems("mem_init", self.mem_init)


@dataclass
class SpikeSource:
    """Spikes at given times (PyNN ``SpikeSourceArray``).

    ``spike_times`` holds one list of times (ms) per neuron; it may be left
    empty in a model file and filled by a task protocol before compiling.
    """

    kind: ClassVar[str] = "SpikeSource"
    spike_times: list[list[float]] = field(default_factory=list)

    recordables: ClassVar[tuple[str, ...]] = ("spikes",)

    def problems(self) -> list[tuple[str, str]]:
        out = []
        for i, times in enumerate(self.spike_times):
            if times and min(times) < 0:  # min runs in C: source lists can be long
                out.append((f"spike_times[{i}]", "times must be >= 0 ms"))
        return out


@dataclass
class Poisson:
    """Poisson spikes at ``rate`` (Hz) from ``start`` for ``duration`` (ms).

    ``duration: null`` (None, the default) means until the end of the run.

    spikemem draws the spike times itself from the network seed (one
    Bernoulli draw per step with p = rate * dt), so every backend receives
    the same spikes.
    """

    kind: ClassVar[str] = "Poisson"
    rate: float = 1.0
    start: float = 0.0
    duration: float | None = None

    recordables: ClassVar[tuple[str, ...]] = ("spikes",)

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if self.rate < 0:
            out.append(("rate", f"must be >= 0 Hz, got {self.rate}"))
        if self.start < 0:
            out.append(("start", f"must be >= 0 ms, got {self.start}"))
        if self.duration is not None and self.duration < 0:
            out.append(("duration", f"must be >= 0 ms (or null: until the end), got {self.duration}"))
        return out


NeuronModel = IFCurrExp | LIF | SpikeSource | Poisson
NEURON_MODELS = (IFCurrExp, LIF, SpikeSource, Poisson)
SOURCES = (SpikeSource, Poisson)


#: the field that holds each model's initial state
INITIAL_STATE = {IFCurrExp: "v_init", LIF: "mem_init"}


def initial_value_problems(name: str, value: InitialValue) -> list[tuple[str, str]]:
    """Problems of an initial-state field (its length is checked against the population)."""
    if isinstance(value, DISTRIBUTIONS):
        return [(f"{name}.{f}", m) for f, m in value.problems()]
    return []
