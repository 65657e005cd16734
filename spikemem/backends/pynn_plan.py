"""A description translated for one PyNN engine, as plain data (no PyNN import).

The PyNN backend builds this plan on a live simulator
(:mod:`spikemem.backends.pynn_backend`), and the script exporter writes it out
as a standalone PyNN program (:mod:`spikemem.export.pynn_script`), so both
make exactly the same network.

Every engine difference is decided here:

- **Timing.** A spike in step t through a projection can make its target fire
  at step t + a at the earliest, a = :func:`spikemem.ir.timing.arrival_steps`
  (d + 1 for a delay of d steps in the ``pynn`` convention, d in the
  ``spinnaker`` one). NEST (``spike_precision="on_grid"``) stamps a spike at the
  end of its step and the target's membrane sees an input one step after it
  arrives, so a NEST delay D gives t + D + 1: the plan uses D = a - 1 (a PyNN
  user's own number), shifts input spike times by +1 step and recorded times by
  -1 step. pyNN.brian2 records the step's start but also adds one step per
  hop: D = a - 1, no shift. sPyNNaker gives t + D: D = a. An arrival of one
  step (a SpiNNaker-convention delay of 1) therefore has no NEST or
  pyNN.brian2 equivalent (their smallest delay is one step): it is refused
  unless the user names the approximation ``"min_delay"`` (then that
  projection is one step late).
- **Integration.** NEST integrates ``IF_curr_exp`` exactly, sPyNNaker with the
  fixed step; a neuron with the other scheme is refused unless the user names
  the approximation ``"integration"``.
- **Weights.** The IR's weights are >= 0 with the sign in the receptor. PyNN
  wants current-based inhibitory weights negative (NEST, pyNN.brian2), sPyNNaker
  wants them positive: ``ProjectionPlan.engine_weights`` carries the sign.
- **Pair rules.** No engine has a gated pair rule, and NEST's ``stdp_synapse``
  differs from the IR where a pre and a post event meet in the same step (it
  applies neither pair's change). On NEST and pyNN.brian2 (which also ignores
  the weight dependence) every STDP projection is therefore by default a
  static projection whose weights the host updates between one-step runs while
  plasticity can act (``host_plastic``), with the IR's own rule
  (:mod:`spikemem.ir.plasticity`): exact, at the cost of stepping. A gate's
  population must be a ``SpikeSource`` (episode times known in advance). With
  the approximation ``"nest_stdp"`` an ungated rule that NEST's
  ``stdp_synapse`` computes exactly apart from those coincidences
  (:func:`nest_stdp_mismatch`: all-to-all traces, ``w_min = 0``, excitatory,
  ``post_delay`` = the connection's NEST delay, one ``tau_minus`` per post
  population) runs on NEST itself, at NEST's speed; the others stay on the host
  and ``host_reason`` says why. On sPyNNaker an ungated rule is its native
  ``STDPMechanism``, with the amplitudes converted (its additive rule adds
  ``A_plus``, not ``A_plus * w_max``), and every plastic projection into one
  population must share one rule, as sPyNNaker requires.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spikemem.errors import UnsupportedFeature, UnsupportedFeatures
from spikemem.ir.connectivity import connect, initial_values
from spikemem.ir.dynamics import ifcurrexp_step
from spikemem.ir.network import Network, Projection
from spikemem.ir.neurons import IFCurrExp, Poisson, SpikeSource
from spikemem.ir.synapses import STDP, Additive
from spikemem.ir.timing import arrival_steps

#: named approximations a user may allow (each is otherwise refused)
APPROXIMATIONS = {
    "integration": "run IF_curr_exp neurons with the engine's integration scheme instead of the IR's",
    "min_delay": "give projections of one step the engine's smallest delay (one step late on NEST/pyNN.brian2)",
    "nest_stdp": "run ungated pair rules on NEST's own stdp_synapse (at NEST's speed): where a pre and a post "
                 "event meet in one step it applies neither pair's change",
}


@dataclass(frozen=True)
class Engine:
    """What one PyNN engine does, in IR steps."""
    name: str                     #: backend name, e.g. "pynn.nest"
    module: str                   #: PyNN module, e.g. "pyNN.nest"
    integration: str              #: IFCurrExp scheme the engine uses ("exact" | "fixed_step")
    delay_offset: int             #: engine delay = arrival steps - delay_offset steps
    time_shift: int               #: engine spike time = IR time + time_shift steps (inputs and recordings)
    fixed_dt: float | None = None  #: the only step the engine runs (ms), None = any
    inhibitory_sign: int = -1     #: sign of inhibitory weights the engine expects


ENGINES: dict[str, Engine] = {
    "pynn.nest": Engine("pynn.nest", "pyNN.nest", "exact", delay_offset=1, time_shift=1),
    "pynn.brian2": Engine("pynn.brian2", "pyNN.brian2", "exact", delay_offset=1, time_shift=0),
    "pynn.spinnaker": Engine("pynn.spinnaker", "pyNN.spiNNaker", "fixed_step", delay_offset=0, time_shift=0,
                             fixed_dt=1.0, inhibitory_sign=1),
}


@dataclass
class CellPlan:
    """One PyNN ``Population``."""
    name: str
    size: int
    cell_type: str                       #: "IF_curr_exp" | "SpikeSourceArray"
    parameters: dict[str, float] = field(default_factory=dict)  #: PyNN names and units (nF, ms, mV, nA)
    initial_v: np.ndarray | None = None  #: mV per neuron, IF_curr_exp only
    spike_times: list[list[float]] | None = None  #: engine ms per neuron, SpikeSourceArray only
    poisson: bool = False                #: a Poisson source: spike_times are filled per run
    record: list[str] = field(default_factory=list)  #: PyNN recordables ("spikes", "v")


@dataclass
class StdpPlan:
    """A native ``STDPMechanism(SpikePairRule, Additive|MultiplicativeWeightDependence)``, in the
    arguments the engine's PyNN module takes (sPyNNaker's additive amplitudes differ from PyNN's)."""
    tau_plus: float
    tau_minus: float
    A_plus: float
    A_minus: float
    weight_dependence: str  #: "additive" | "multiplicative"
    w_min: float
    w_max: float


@dataclass
class ProjectionPlan:
    """One PyNN ``Projection`` with an explicit ``FromListConnector``."""
    name: str
    pre: str
    post: str
    connections: np.ndarray     #: (n, 2) int pre/post indices
    weights: np.ndarray         #: (n,) nA, >= 0
    delay: float                #: engine ms
    receptor_type: str          #: "excitatory" | "inhibitory"
    stdp: StdpPlan | None = None  #: None = StaticSynapse
    host_plastic: bool = False  #: STDP static on the engine, its weights updated by the host
    weight_sign: int = 1        #: the engine's sign for this receptor
    host_reason: str = ""       #: why a host-plastic projection is not on the engine's own rule

    @property
    def engine_weights(self) -> np.ndarray:
        """The weights as the engine's PyNN module takes them (nA, signed)."""
        return self.weights * self.weight_sign


@dataclass
class Plan:
    """A whole network for one engine.

    ``time_shift``: engine spike time = IR time + ``time_shift`` steps (inputs and
    recordings). ``lead_steps``: engine steps run before IR step 0 (NEST only: PyNN
    relays input spikes through parrot neurons one step late, so an input in IR step 0
    needs one step of lead; neurons then start from the state that one step maps onto
    the IR's ``v_init``).
    """
    engine: Engine
    network: str
    dt: float
    setup: dict[str, object]
    populations: list[CellPlan]
    projections: list[ProjectionPlan]
    time_shift: int = 0
    lead_steps: int = 0

    def population(self, name: str) -> CellPlan:
        return next(p for p in self.populations if p.name == name)

    def projection(self, name: str) -> ProjectionPlan:
        return next(p for p in self.projections if p.name == name)


def _ifcurrexp_parameters(m: IFCurrExp, engine: str, dt: float) -> dict[str, float]:
    """PyNN parameters. pyNN.brian2 fires on ``v > v_thresh`` (the IR on ``>=``) and ends a
    refractory period one step early: its threshold is the next float below, its
    ``tau_refrac`` one step longer."""
    v_thresh, tau_refrac = m.v_thresh, m.tau_refrac
    if engine == "pynn.brian2":
        v_thresh, tau_refrac = float(np.nextafter(m.v_thresh, -np.inf)), m.tau_refrac + dt
    return {"cm": m.cm, "tau_m": m.tau_m, "v_rest": m.v_rest, "v_reset": m.v_reset, "v_thresh": v_thresh,
            "tau_refrac": tau_refrac, "tau_syn_E": m.tau_syn_E, "tau_syn_I": m.tau_syn_I,
            "i_offset": m.i_offset}


def check(net: Network, engine: str, approximations: tuple[str, ...] | frozenset[str] = ()) -> None:
    """Raise :class:`UnsupportedFeature` naming every node ``engine`` cannot run as the IR says
    (:class:`UnsupportedFeatures`, a subclass, when there are several)."""
    eng = _engine(engine)
    unknown = set(approximations) - set(APPROXIMATIONS)
    if unknown:
        raise ValueError(f"unknown approximation(s) {sorted(unknown)}; choose from "
                         + "; ".join(f"'{k}': {v}" for k, v in APPROXIMATIONS.items()))
    refused: list[UnsupportedFeature] = []
    if eng.fixed_dt is not None and net.dt != eng.fixed_dt:
        refused.append(UnsupportedFeature("dt", f"a step of {net.dt} ms", engine,
                                          f"this engine runs a {eng.fixed_dt} ms step only: set dt: {eng.fixed_dt}"))
    for k, pop in enumerate(net.populations):
        node, m = f"populations[{k}] ({pop.name})", pop.model
        if isinstance(m, IFCurrExp):
            if m.integration != eng.integration and "integration" not in approximations:
                refused.append(UnsupportedFeature(
                    node, f"IFCurrExp with integration '{m.integration}'", engine,
                    f"{engine} integrates IF_curr_exp with the '{eng.integration}' scheme: set "
                    f"integration: {eng.integration} in the description, or pass "
                    f"approximations=['integration'] (CLI: --approximate integration) to accept it"))
        elif not isinstance(m, (SpikeSource, Poisson)):
            refused.append(UnsupportedFeature(node, type(m).__name__, engine,
                                              "PyNN's standard models have no equivalent; use IFCurrExp"))
    for k, proj in enumerate(net.projections):
        node = f"projections[{k}] ({proj.name})"
        arrival = arrival_steps(net, proj)
        if arrival - eng.delay_offset < 1 and "min_delay" not in approximations:
            refused.append(UnsupportedFeature(
                node, f"a delay of {proj.delay} ms in the '{net.delay_convention}' convention "
                f"(the target can fire {arrival} step after the source)", engine,
                f"on {engine} a connection takes one step more than its delay, so this timing would need "
                f"a delay of {arrival - eng.delay_offset} steps, below its minimum of one: use delays of at "
                f"least {eng.delay_offset + 1} steps in the 'spinnaker' convention (1 in 'pynn'), or pass "
                f"approximations=['min_delay'] (CLI: --approximate min_delay) to make it one step late"))
        if isinstance(proj.synapse, STDP):
            refused += _stdp_refusals(net, proj, node, eng)
    if len(refused) == 1:
        raise refused[0]
    if refused:
        raise UnsupportedFeatures(refused)


def _stdp_refusals(net: Network, proj: Projection, node: str, eng: Engine) -> list[UnsupportedFeature]:
    rule: STDP = proj.synapse
    out = []
    if rule.gate is not None:
        gate_pop = net.population(rule.gate.population)
        if not isinstance(gate_pop.model, SpikeSource):
            out.append(UnsupportedFeature(
                f"{node}.synapse.gate", f"a LearningGate driven by {type(gate_pop.model).__name__} "
                f"population '{gate_pop.name}'", eng.name,
                "PyNN engines have no gated rule; spikemem runs the gate on the host and needs the "
                "episode times in advance: drive the gate from a SpikeSource"))
    t = rule.timing
    if eng.name == "pynn.spinnaker" and rule.gate is None and \
            (t.traces, t.post_delay, t.same_step) != ("all_to_all", net.dt, "post_first"):
        out.append(UnsupportedFeature(
            f"{node}.synapse.timing", f"SpikePair(traces={t.traces}, post_delay={t.post_delay}, "
            f"same_step={t.same_step})", eng.name,
            f"sPyNNaker's pair rule is traces: all_to_all, post_delay: {net.dt}, same_step: post_first "
            "(measured against its recordings, spikemem/data/ca3/PORTING.md)"))
    if eng.name == "pynn.brian2" and arrival_steps(net, proj) - eng.delay_offset > 1:
        out.append(UnsupportedFeature(
            f"{node}.delay", f"a plastic projection with a delay of {proj.delay} ms", eng.name,
            "pyNN.brian2 reads a weight when the spike arrives, so the host's step-by-step weights reach "
            "it in time only for the shortest delay; use pynn.nest"))
    return out


def _check_shared_rules(plan_projections: list["ProjectionPlan"], eng: Engine) -> None:
    """sPyNNaker: every native plastic projection into one population has the same rule."""
    first: dict[str, ProjectionPlan] = {}
    for p in plan_projections:
        if p.stdp is None:
            continue
        other = first.setdefault(p.post, p)
        if other.stdp != p.stdp:
            raise UnsupportedFeature(
                f"projection '{p.name}'.synapse", f"an STDP rule different from projection '{other.name}' "
                f"into the same population '{p.post}'", eng.name,
                "sPyNNaker requires every plastic projection into one population to share one rule")


def _engine(name: str) -> Engine:
    if name not in ENGINES:
        raise ValueError(f"unknown PyNN engine '{name}' (available: {', '.join(ENGINES)})")
    return ENGINES[name]


def plan(net: Network, engine: str, approximations: tuple[str, ...] | frozenset[str] = ()) -> Plan:
    """Translate ``net`` for ``engine`` after :func:`check`."""
    check(net, engine, approximations)
    eng = _engine(engine)
    dt = net.dt
    setup: dict[str, object] = {"timestep": dt, "min_delay": dt}
    if engine == "pynn.nest":
        setup["spike_precision"] = "on_grid"
    if engine == "pynn.spinnaker":
        setup = {"timestep": dt}
    lead = 1 if engine == "pynn.nest" and (_input_in_first_step(net) or _plastic_spike_in_first_step(net)) else 0
    shift = (eng.time_shift + lead) * dt
    cells, recorded = [], net.recorded()
    for pop in net.populations:
        m, record = pop.model, recorded.get(pop.name, [])
        if isinstance(m, IFCurrExp):
            cells.append(CellPlan(pop.name, pop.size, "IF_curr_exp", _ifcurrexp_parameters(m, engine, dt),
                                  initial_v=_v_before(m, initial_values(net, pop), dt, lead),
                                  record=record))
        elif isinstance(m, SpikeSource):
            times = [[round(t / dt) * dt + shift for t in neuron] for neuron in m.spike_times]
            cells.append(CellPlan(pop.name, pop.size, "SpikeSourceArray", spike_times=times, record=record))
        else:
            cells.append(CellPlan(pop.name, pop.size, "SpikeSourceArray", spike_times=[[] for _ in range(pop.size)],
                                  poisson=True, record=record))
    projections = []
    tau_minus: dict[str, float] = {}  # post population -> the tau_minus NEST's neurons hold
    for proj in net.projections:
        syn = connect(net, proj)
        steps = max(arrival_steps(net, proj) - eng.delay_offset, 1)
        stdp, host, reason = None, False, ""
        if isinstance(proj.synapse, STDP):
            rule = proj.synapse
            host = rule.gate is not None or engine != "pynn.spinnaker"
            if not host:
                stdp = _native_stdp(rule)
            elif engine == "pynn.nest":
                reason = nest_stdp_mismatch(net, proj, steps, tau_minus.get(proj.post))
                if not reason and "nest_stdp" not in approximations:
                    reason = ("exact: NEST's stdp_synapse differs where a pre and a post event meet in one step "
                              "(pass approximations=['nest_stdp'] to accept that)")
                if not reason:
                    host, stdp = False, _pynn_stdp(rule)
                    tau_minus[proj.post] = rule.timing.tau_minus
            else:
                reason = "no native rule with the description's weight dependence" if engine == "pynn.brian2" \
                    else "a gated rule"
        projections.append(ProjectionPlan(
            proj.name, proj.pre, proj.post, np.stack([syn.i, syn.j], axis=1), syn.w, steps * dt,
            proj.receptor, stdp, host, eng.inhibitory_sign if proj.receptor == "inhibitory" else 1,
            reason if host else ""))
    if engine == "pynn.spinnaker":
        _check_shared_rules(projections, eng)
    return Plan(eng, net.name, dt, setup, cells, projections, time_shift=eng.time_shift + lead, lead_steps=lead)


def _native_stdp(rule: STDP) -> StdpPlan:
    """sPyNNaker's STDPMechanism arguments: its additive rule adds A_plus itself (not A_plus * w_max)."""
    t, w = rule.timing, rule.weights
    additive = isinstance(w, Additive)
    scale = w.w_max if additive else 1.0
    return StdpPlan(t.tau_plus, t.tau_minus, t.A_plus * scale, t.A_minus * scale,
                    "additive" if additive else "multiplicative", w.w_min, w.w_max)


def nest_stdp_mismatch(net: Network, proj: Projection, engine_delay_steps: int,
                       tau_minus_of_post: float | None = None) -> str:
    """Why NEST's ``stdp_synapse`` would not compute ``proj``'s rule as the IR does, apart from
    same-step pre/post coincidences ("" when it does).

    Measured against the IR (tests/test_nest_plasticity.py): NEST pairs a pre spike at step
    s with a post spike at step q through the post spike's arrival q + D (D the connection's
    own delay, all of it dendritic in PyNN): it equals the IR with ``post_delay = D`` steps,
    all-to-all traces, ``w_min = 0``, except where s == q + D. There NEST applies neither
    the pair's potentiation nor its depression (the IR applies one, by ``same_step``).
    ``tau_minus_of_post``: the tau_minus already given to the post population's neurons by
    another projection on NEST's rule (NEST keeps tau_minus on the neuron).
    """
    rule: STDP = proj.synapse
    t, w = rule.timing, rule.weights
    dt = net.dt
    if rule.gate is not None:
        return "a gated rule (NEST has no third factor)"
    if t.traces != "all_to_all":
        return ("nearest traces: NEST's stdp_nn_symm_synapse pairs a post spike before a synapse's first pre "
                "spike with a pre spike at NEST's time 0")
    if w.w_min != 0.0:
        return f"w_min = {w.w_min}: NEST's stdp_synapse clips weights at 0"
    if proj.receptor != "excitatory":
        return "an inhibitory receptor: NEST's stdp_synapse bounds weights in [0, Wmax], PyNN signs them negative"
    if abs(t.post_delay - engine_delay_steps * dt) > 1e-9 * dt:
        return (f"post_delay = {t.post_delay} ms: NEST back-propagates a post spike with the connection's own "
                f"delay, {engine_delay_steps * dt:g} ms here (set post_delay: {engine_delay_steps * dt:g})")
    if t.A_plus == 0.0 and t.A_minus != 0.0:
        return "A_plus = 0: PyNN gives NEST A_minus as a multiple of A_plus (alpha = A_minus / A_plus)"
    if tau_minus_of_post is not None and tau_minus_of_post != t.tau_minus:
        return (f"tau_minus = {t.tau_minus} ms, where another projection into '{proj.post}' on NEST's rule has "
                f"{tau_minus_of_post} ms: NEST keeps tau_minus on the post neuron")
    return ""


def _pynn_stdp(rule: STDP) -> StdpPlan:
    """PyNN's STDPMechanism arguments, in PyNN's convention (pyNN.nest turns them into NEST's
    stdp_synapse: lambda = A_plus, alpha = A_minus / A_plus, Wmax = w_max in pA, mu = 0 for the
    additive rule and 1 for the multiplicative one; pyNN/nest/standardmodels/synapses.py)."""
    t, w = rule.timing, rule.weights
    additive = isinstance(w, Additive)
    return StdpPlan(t.tau_plus, t.tau_minus, t.A_plus, t.A_minus, "additive" if additive else "multiplicative",
                    w.w_min, w.w_max)


def _input_in_first_step(net: Network) -> bool:
    for pop in net.populations:
        m = pop.model
        if isinstance(m, SpikeSource) and any(round(t / net.dt) == 0 for times in m.spike_times for t in times):
            return True
        if isinstance(m, Poisson) and m.start < net.dt and m.rate > 0:
            return True
    return False


def _plastic_spike_in_first_step(net: Network) -> bool:
    """Whether a neuron at either end of an STDP projection can fire in step 0 without input.

    The host steps plasticity after each engine run, and without a lead step PyNN's first
    run on NEST must cover steps 0 and 1 together, delivering step 0's spikes before the host
    has applied that step's weight changes. A neuron fires in step 0 only if one input-free
    update from ``v_init`` reaches threshold (within a margin: a lead step is always safe).
    """
    ends = {name for p in net.projections if isinstance(p.synapse, STDP) for name in (p.pre, p.post)}
    for pop in net.populations:
        if pop.name in ends and isinstance(pop.model, IFCurrExp):
            c = ifcurrexp_step(pop.model, net.dt)
            v1 = c.v_inf + (initial_values(net, pop) - c.v_inf) * c.p22
            if np.any(v1 >= pop.model.v_thresh - 1e-6):
                return True
    return False


def _v_before(m: IFCurrExp, v_init: np.ndarray, dt: float, steps: int) -> np.ndarray:
    """The membrane potentials (mV) that ``steps`` input-free steps carry to ``v_init``.

    Exact (the same number) for a neuron that starts at rest with no offset current;
    otherwise within a rounding error of one step's arithmetic.
    """
    if steps == 0:
        return v_init
    c = ifcurrexp_step(m, dt)
    return np.where(v_init == c.v_inf, v_init, c.v_inf + (v_init - c.v_inf) / c.p22 ** steps)
