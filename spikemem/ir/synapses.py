"""Connectors, weights and synapse dynamics of projections.

Weights are in nA for current-based neurons (dimensionless for ``LIF``),
delays and time constants in ms. STDP follows PyNN's ``STDPMechanism`` with
PyNN's amplitude convention; the timing details that decide behaviour, and
that engines choose differently, are explicit fields.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal


# -- connectors ---------------------------------------------------------------

@dataclass
class OneToOne:
    """Neuron i of pre to neuron i of post; sizes must match."""
    kind: ClassVar[str] = "one_to_one"

    def problems(self) -> list[tuple[str, str]]:
        return []


@dataclass
class AllToAll:
    """Every pre neuron to every post neuron.

    ``allow_self_connections=False`` drops the pairs i -> i, also between two
    different populations (sPyNNaker's on-machine behaviour, which the CA3
    model intends; PyNN's reference connector applies it only when
    pre is post).
    """
    kind: ClassVar[str] = "all_to_all"
    allow_self_connections: bool = True

    def problems(self) -> list[tuple[str, str]]:
        return []


@dataclass
class FixedProbability:
    """Each pair connected with probability ``p``, drawn from the network seed."""
    kind: ClassVar[str] = "fixed_probability"
    p: float = 0.1
    allow_self_connections: bool = True

    def problems(self) -> list[tuple[str, str]]:
        return [] if 0.0 <= self.p <= 1.0 else [("p", f"must be in [0, 1], got {self.p}")]


@dataclass
class FromList:
    """Explicit ``[pre, post]`` index pairs, in the order weights lists follow."""
    kind: ClassVar[str] = "from_list"
    connections: list[list[int]] = field(default_factory=list)

    def problems(self) -> list[tuple[str, str]]:
        return [(f"connections[{k}]", f"must be a [pre, post] pair, got {c}")
                for k, c in enumerate(self.connections) if len(c) != 2]


Connector = OneToOne | AllToAll | FixedProbability | FromList
CONNECTORS = (OneToOne, AllToAll, FixedProbability, FromList)


# -- weight distributions -----------------------------------------------------

@dataclass
class Normal:
    """Weights drawn from N(mean, std), drawn from the network seed."""
    kind: ClassVar[str] = "normal"
    mean: float = 0.0
    std: float = 1.0

    def problems(self) -> list[tuple[str, str]]:
        return [] if self.std >= 0 else [("std", f"must be >= 0, got {self.std}")]


@dataclass
class Uniform:
    """Weights drawn from U(low, high), drawn from the network seed."""
    kind: ClassVar[str] = "uniform"
    low: float = 0.0
    high: float = 1.0

    def problems(self) -> list[tuple[str, str]]:
        return [] if self.low <= self.high else [("high", f"must be >= low ({self.low})")]


Distribution = Normal | Uniform
DISTRIBUTIONS = (Normal, Uniform)


# -- synapse dynamics ---------------------------------------------------------

@dataclass
class Static:
    """Fixed weights."""
    kind: ClassVar[str] = "Static"

    def problems(self) -> list[tuple[str, str]]:
        return []


@dataclass
class SpikePair:
    """Pair-based STDP timing (PyNN ``SpikePairRule``), with its timing details explicit.

    A pre event depresses by ``A_minus * x_post``, a post event potentiates by
    ``A_plus * x_pre``, where the traces decay with ``tau_minus`` / ``tau_plus``
    (ms) and the amplitude is scaled by the weight dependence.

    - ``traces``: ``"all_to_all"`` (each spike adds 1 to its trace) or
      ``"nearest"`` (each spike sets its trace to 1).
    - ``post_delay``: ms between a post spike and its arrival at the synapse
      (back-propagation delay); pre events act at the pre spike's step.
    - ``same_step``: when a pre and a post event act in the same step, which is
      applied first. With ``"post_first"`` a zero-lag post->pre pair depresses
      with the full post trace.
    """
    kind: ClassVar[str] = "SpikePair"
    tau_plus: float = 20.0
    tau_minus: float = 20.0
    A_plus: float = 0.01
    A_minus: float = 0.01
    traces: Literal["all_to_all", "nearest"] = "all_to_all"
    post_delay: float = 0.0
    same_step: Literal["pre_first", "post_first"] = "pre_first"

    def problems(self) -> list[tuple[str, str]]:
        out = []
        for name in ("tau_plus", "tau_minus"):
            if not getattr(self, name) > 0:
                out.append((name, f"must be > 0, got {getattr(self, name)}"))
        for name in ("A_plus", "A_minus", "post_delay"):
            if getattr(self, name) < 0:
                out.append((name, f"must be >= 0, got {getattr(self, name)}"))
        return out


@dataclass
class Additive:
    """PyNN ``AdditiveWeightDependence``: dw = +A_plus * w_max * x_pre (post event),
    -A_minus * w_max * x_post (pre event); w clipped to [w_min, w_max]."""
    kind: ClassVar[str] = "Additive"
    w_min: float = 0.0
    w_max: float = 1.0

    def problems(self) -> list[tuple[str, str]]:
        return [] if self.w_min <= self.w_max else [("w_max", f"must be >= w_min ({self.w_min})")]


@dataclass
class Multiplicative:
    """PyNN ``MultiplicativeWeightDependence``: dw = +A_plus * (w_max - w) * x_pre,
    -A_minus * (w - w_min) * x_post; w clipped to [w_min, w_max]."""
    kind: ClassVar[str] = "Multiplicative"
    w_min: float = 0.0
    w_max: float = 1.0

    def problems(self) -> list[tuple[str, str]]:
        return [] if self.w_min <= self.w_max else [("w_max", f"must be >= w_min ({self.w_min})")]


WeightDependence = Additive | Multiplicative


@dataclass
class LearningGate:
    """A third factor that gates plasticity (like NEST's dopamine volume transmitter, as an on/off gate).

    Each spike of ``population`` (any neuron) opens a learning episode of
    ``window`` ms starting ``delay`` ms (whole steps, >= 0) after that spike. Weight changes of the projection are
    applied only inside an episode. When an episode opens:

    - ``reset_traces``: the projection's STDP traces are set to 0, so activity
      before the episode cannot pair with activity inside it.
    - ``forget``: ``"pre"``: the first pre spike of a neuron inside the episode
      first sets all of that neuron's outgoing weights in the projection to
      ``w_min`` (before the spike is transmitted and paired); ``"post"``: the
      first post event of a neuron does so for its incoming weights; ``"none"``.
    """
    kind: ClassVar[str] = "LearningGate"
    population: str = ""
    window: float = 7.0
    delay: float = 0.0
    reset_traces: bool = True
    forget: Literal["none", "pre", "post"] = "none"

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if not self.population:
            out.append(("population", "must name the population whose spikes open the gate"))
        if not self.window > 0:
            out.append(("window", f"must be > 0 ms, got {self.window}"))
        if self.delay < 0:
            out.append(("delay", f"must be >= 0 ms, got {self.delay}"))
        return out


@dataclass
class STDP:
    """Spike-timing-dependent plasticity (PyNN ``STDPMechanism``), optionally gated."""
    kind: ClassVar[str] = "STDP"
    timing: SpikePair = field(default_factory=SpikePair)
    weights: WeightDependence = field(default_factory=Additive)
    gate: LearningGate | None = None

    def problems(self) -> list[tuple[str, str]]:
        return []


SynapseDynamics = Static | STDP
