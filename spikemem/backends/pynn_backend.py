"""The PyNN backend: one description on NEST, pyNN.brian2 or sPyNNaker.

``compile(net, engine="pynn.nest")`` translates the network with
:func:`spikemem.backends.pynn_plan.plan` (where every engine difference is
decided and documented) and builds that plan through PyNN's standard models.
:func:`build` is shared with the SpiNNaker export, which maps the same plan on
a virtual board.

STDP projections run on the host (``host_plastic`` in the plan) are static on
the engine; while plasticity can act (always for an ungated rule, inside each
learning episode for a gated one) the simulation advances one step at a time,
feeds that step's spikes to :class:`spikemem.ir.plasticity.GatedPairRule` and
writes the changed weights back before the next step. A spike leaves with the
weight of the end of its step, as on NEST and SpiNNaker (NEST reads the weight
when it delivers the step's spikes, at the start of the next run). Such a run
costs a few ms per step; one estimated to take longer than :data:`SLOW_RUN_S`
warns first (:class:`HostSteppingWarning`). Under the approximation
``"nest_stdp"`` the ungated rules NEST can compute run on its own ``stdp_synapse``.

PyNN keeps one simulator state per process: compiling a second network on the
same engine ends the first one (running it afterwards raises).
"""
from __future__ import annotations

import contextlib
import importlib
import logging
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spikemem.backends.pynn_plan import Plan, ProjectionPlan, plan as make_plan
from spikemem.backends.result import Result, SpikeTrains
from spikemem.errors import SpikememError, UnsupportedFeature
from spikemem.ir.connectivity import poisson_times, rng_for
from spikemem.ir.network import Network
from spikemem.ir.plasticity import GatedPairRule, pending_potentiation
from spikemem.ir.synapses import STDP

#: the live simulation of each engine (PyNN has one simulator state per process)
_LIVE: dict[str, "PyNNSimulation"] = {}

#: a run whose host-stepped rest is estimated to take longer than this (s) warns first
SLOW_RUN_S = 30.0
#: one-step engine runs timed to estimate the cost of a step
_TIMED_STEPS = 20


class HostSteppingWarning(UserWarning):
    """A run will be slow because the host steps an STDP rule one engine step at a time."""


@dataclass
class Built:
    """The PyNN objects of one plan, by IR name."""
    populations: dict[str, Any] = field(default_factory=dict)
    projections: dict[str, Any] = field(default_factory=dict)


def build(sim: Any, plan: Plan) -> Built:
    """Create ``plan``'s populations and projections in ``sim`` (a PyNN module after ``sim.setup``)."""
    built = Built()
    for cell in plan.populations:
        if cell.cell_type == "IF_curr_exp":
            pop = sim.Population(cell.size, sim.IF_curr_exp(**cell.parameters),
                                 initial_values={"v": cell.initial_v}, label=cell.name)
        else:
            times = [sim.Sequence(_playable(t, plan)) for t in cell.spike_times]
            if cell.size == 1 and plan.engine.name == "pynn.brian2":
                times = times[0]  # pyNN.brian2 takes one neuron's times as a bare Sequence
            pop = sim.Population(cell.size, sim.SpikeSourceArray(spike_times=times), label=cell.name)
        if cell.record:
            pop.record(cell.record)
        built.populations[cell.name] = pop
    for proj in plan.projections:
        if len(proj.connections) == 0:
            continue  # a connector that drew no synapse: nothing to build (PyNN refuses an empty list)
        rows = np.column_stack([proj.connections, proj.engine_weights]).tolist()
        built.projections[proj.name] = sim.Projection(
            built.populations[proj.pre], built.populations[proj.post],
            sim.FromListConnector(rows, column_names=["weight"]), synapse_type(sim, proj),
            receptor_type=proj.receptor_type, label=proj.name)
    return built


def _playable(times: list[float] | np.ndarray, plan: Plan) -> np.ndarray:
    """Spike times as the engine should be given them (ms).

    pyNN.nest plays a source spike from a generator one min_delay early, and NEST moves a
    time that rounding leaves just past a step (4.4 - 0.1 = 4.300000000000001) into the
    next step: on NEST every time is played a millionth of a step early.
    """
    t = np.asarray(times, dtype=float)
    return t - 1e-6 * plan.dt if plan.engine.name == "pynn.nest" else t


def synapse_type(sim: Any, proj: ProjectionPlan) -> Any:
    """The PyNN synapse of one projection (weights come with the connection list)."""
    if proj.stdp is None:
        return sim.StaticSynapse(delay=proj.delay)
    r = proj.stdp
    dependence = (sim.AdditiveWeightDependence if r.weight_dependence == "additive"
                  else sim.MultiplicativeWeightDependence)(w_min=r.w_min, w_max=r.w_max)
    return sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=r.tau_plus, tau_minus=r.tau_minus,
                                            A_plus=r.A_plus, A_minus=r.A_minus),
        weight_dependence=dependence, delay=proj.delay)


def compile(net: Network, engine: str = "pynn.nest", threads: int = 1,
            approximations: tuple[str, ...] | list[str] = ()) -> "PyNNSimulation":
    """Build ``net`` on a PyNN ``engine`` (``pynn.nest``, ``pynn.brian2`` or ``pynn.spinnaker``).

    ``threads``: NEST's ``local_num_threads`` (spikes do not depend on it).
    ``approximations``: names from :data:`spikemem.backends.pynn_plan.APPROXIMATIONS`
    that the user accepts; anything else an engine cannot do raises
    :class:`UnsupportedFeature`.
    """
    plan = make_plan(net, engine, tuple(approximations))
    if engine == "pynn.spinnaker" and any(p.host_plastic for p in plan.projections):
        name = next(p.name for p in plan.projections if p.host_plastic)
        raise UnsupportedFeature(f"projection '{name}'.synapse.gate", "a LearningGate", engine,
                                 "the host runs the gate by writing weights between one-step runs, which "
                                 "sPyNNaker does not allow; map it with `spikemem export --to spinnaker "
                                 "--virtual`, or run it on pynn.nest")
    if threads != 1 and engine != "pynn.nest":
        raise ValueError(f"threads: only pynn.nest runs threads, got threads={threads} for {engine}")
    previous = _LIVE.pop(engine, None)
    if previous is not None:
        previous.close()
    simulation = PyNNSimulation(net, plan, threads)
    _LIVE[engine] = simulation
    return simulation


class PyNNSimulation:
    """A network built on a PyNN engine. ``run(duration)`` returns everything since t = 0."""

    def __init__(self, net: Network, plan: Plan, threads: int):
        self.net, self.plan = net, plan
        with _quiet():
            self.sim = importlib.import_module(plan.engine.module)
        setup = dict(plan.setup)
        if plan.engine.name == "pynn.nest":
            setup["threads"] = threads
        if plan.engine.name == "pynn.brian2":
            import brian2

            # numpy code: no compile per network (cython would compile each new network for ~20 s);
            # spikemem's own Brian2 backend sets its target on every build and run
            brian2.prefs.codegen.target = "numpy"
        with _quiet():
            self.sim.setup(**setup)
            self.built = build(self.sim, plan)
        self._closed = False
        self._step = 0  # IR steps the user has run (recordings cover steps < _step)
        self._computed = 0  # IR steps the engine has computed (NEST: one more than _step)
        self._ahead = 1 if plan.engine.name == "pynn.nest" else 0
        self._fed = 0  # Poisson spikes of steps < _fed are on the engine
        self._shift = plan.time_shift
        self._poisson_rng = {c.name: rng_for(net, f"population:{c.name}") for c in plan.populations if c.poisson}
        self._rules: dict[str, GatedPairRule] = {}
        self._episodes: dict[str, set[int]] = {}  # projection -> steps where its gate opens
        for proj in plan.projections:
            if proj.host_plastic and len(proj.connections):
                rule: STDP = net.projection(proj.name).synapse
                self._rules[proj.name] = GatedPairRule(rule, proj.connections[:, 0], proj.connections[:, 1],
                                                       proj.weights, net.dt)
                self._episodes[proj.name] = set()  # ungated: always plastic (GatedPairRule.in_episode)
                if rule.gate is not None:
                    gate_pop = net.population(rule.gate.population)
                    lag = int(round(rule.gate.delay / net.dt))
                    self._episodes[proj.name] = {int(round(t / net.dt)) + lag
                                                 for times in gate_pop.model.spike_times for t in times}
        # ungated rules on NEST's own stdp_synapse (approximation "nest_stdp"): NEST applies a post
        # event's potentiation at the synapse's next pre spike, so reading weights needs the spikes
        self._native = [p.name for p in plan.projections
                        if p.stdp is not None and plan.engine.name == "pynn.nest" and len(p.connections)]
        self._io = _NestIO(self) if plan.engine.name == "pynn.nest" else _PyNNIO(self)
        self._io.prepare()
        self._step_cost: float | None = None  # measured wall time (s) of one host-stepped engine step
        # host rules' weights at the end of the user's last step (the engine computes one step more)
        self._reported: dict[str, np.ndarray] = {}
        self._report_step = -1

    # -- running -------------------------------------------------------------

    def run(self, duration: float) -> Result:
        """Advance by ``duration`` ms; return everything recorded since t = 0."""
        if self._closed:
            raise SpikememError(f"this {self.plan.engine.name} simulation was ended (PyNN keeps one "
                                "simulation per process and a newer one was compiled, or close() was called)")
        dt = self.net.dt
        steps = duration / dt
        if steps < 0 or abs(steps - round(steps)) > 1e-9:
            raise ValueError(f"duration must be a whole number of steps of {dt} ms, got {duration}")
        with _quiet():
            return self._run(int(round(steps)))

    def _run(self, steps: int) -> Result:
        start = time.perf_counter()
        end = self._step + steps
        target = end + self._ahead
        # a source spike must reach its generator before the engine's clock passes it, and
        # PyNN's clock runs a step ahead: feed one step beyond what this run computes
        self._feed_poisson(self._fed, target + 1)
        self._fed = target + 1
        stepped = self._stepped_steps(self._computed, target)
        self._report_step = end - 1
        timed, timed_s, warned = 0, 0.0, False
        while self._computed < target:
            stop = self._next_stop(target)
            if self._engine_time(stop) <= 0:
                # PyNN's first run must be at least a step long: take the fewest steps that are.
                # Step 0 then runs with the next one; the plan gives NEST a lead step whenever a
                # plastic projection could see a spike in step 0, so nothing it does is stale
                stop = min(target, 2 - self.plan.lead_steps)
            if self._engine_time(stop) <= 0:
                raise ValueError(f"{self.plan.engine.name} cannot run less than {2 * self.net.dt} ms "
                                 "in its first run")
            one_step, began = stop - self._computed == 1, time.perf_counter()
            self._advance(stop)
            if one_step and not warned:
                timed, timed_s = timed + 1, timed_s + time.perf_counter() - began
                if timed == _TIMED_STEPS or timed_s > 1.0:
                    self._step_cost, warned = timed_s / timed, True
                    self._warn_if_slow(stepped - timed, self._step_cost)
        self._step = end
        result = self._collect()
        result.wall_s = time.perf_counter() - start
        return result

    def _stepped_steps(self, first: int, end: int) -> int:
        """How many of the engine steps ``first..end-1`` the host rules make it run one at a time."""
        if not self._rules:
            return 0
        if any(rule.rule.gate is None for rule in self._rules.values()):
            return end - first
        steps: set[int] = set()
        for name, rule in self._rules.items():
            width = int(np.ceil(rule.window - 1e-9))
            for opens in self._episodes[name]:
                steps.update(range(max(opens, first), min(opens + width, end)))
        return len(steps)

    def _warn_if_slow(self, steps_left: int, step_cost: float) -> None:
        """Warn (:class:`HostSteppingWarning`) when the rest of this run will take long."""
        estimate = steps_left * step_cost
        if estimate < SLOW_RUN_S:
            return
        names = ", ".join(f"'{n}' ({self.plan.projection(n).host_reason})" for n in self._rules)
        ungated = [n for n in self._rules if self.net.projection(n).synapse.gate is None]
        hint = ""
        if ungated and self.plan.engine.name == "pynn.nest" and all(
                self.plan.projection(n).host_reason.startswith("exact") for n in ungated):
            hint = (" Ungated pair rules can run at NEST's own speed on its stdp_synapse: pass "
                    "approximations=['nest_stdp'] (CLI: --approximate nest_stdp), which differs from the "
                    "description only where a pre and a post event meet in one step.")
        warnings.warn(HostSteppingWarning(
            f"{self.plan.engine.name}: the STDP rules of {names} run on the host, one engine step at a time: "
            f"{steps_left} more steps at about {1000 * step_cost:.1f} ms each, about {estimate:.0f} s for the "
            f"rest of this run.{hint}"), stacklevel=4)

    def _next_stop(self, target: int) -> int:
        """How far the engine may compute in one go.

        The spikes of the last step computed wait for delivery (their weights are read
        then), so the host can still apply that step's weight changes; every earlier step
        of the run must be quiet (no weight change possible): inside an episode the
        engine computes one step at a time.
        """
        c = self._computed
        if not self._rules:
            return target
        if any(rule.in_episode(c) or c in self._episodes[name] for name, rule in self._rules.items()):
            return c + 1
        starts = [t + 1 for opens in self._episodes.values() for t in opens if t >= c]
        return min([target] + starts)

    def _advance(self, stop: int) -> None:
        """Let the engine compute IR steps up to ``stop - 1`` and apply the host rules to them."""
        first = self._computed
        if first > 0 and self.plan.engine.name == "pynn.nest":
            # after PyNN's first run (which connects recorders and parrots and runs a step
            # ahead) its run_until only calls NEST's Simulate, but asks NEST for its whole kernel
            # status eight times per call (about 1 ms each, more as events accumulate): step NEST
            # itself, PyNN's clock follows NEST's
            self._io.simulate((stop - first) * self.net.dt)
        else:
            self.sim.run_until(self._engine_time(stop))
        self._computed = stop
        if not self._io.watched():
            return
        spikes = self._io.new_spikes(stop)  # {population: (indices, IR steps)} of steps first..stop-1
        for name, rule in self._rules.items():
            proj = self.net.projection(name)
            post_lag = int(round(rule.rule.timing.post_delay / self.net.dt))
            pre_i, pre_t = spikes[proj.pre]
            post_i, post_t = self._io.history(proj.post)
            changed = False
            for s in range(first, stop):
                changed |= rule.step(s, pre_i[pre_t == s], post_i[post_t == s - post_lag],
                                     s in self._episodes[name])
                if s == self._report_step:
                    self._reported[name] = rule.state.w.copy()
            if changed:
                self._io.set_weights(name, rule.state.w)

    def _engine_time(self, computed: int) -> float:
        """The PyNN time (ms) to run until so that IR steps < ``computed`` are computed.

        PyNN's NEST module keeps NEST one step past its own clock (so that recorders have
        every spike up to that clock); the spikes of NEST's last step are delivered, and
        their weights read, at the start of the next run.
        """
        if self.plan.engine.name == "pynn.nest":
            return (computed + self.plan.lead_steps - 1) * self.net.dt
        return computed * self.net.dt

    def _feed_poisson(self, first: int, end: int) -> None:
        dt = self.net.dt
        for name, rng in self._poisson_rng.items():
            pop = self.net.population(name)
            idx, times = poisson_times(pop.model, pop.size, dt, first * dt, end * dt, rng)
            source = self.built.populations[name]
            per_neuron = [np.sort(np.concatenate([old, times[idx == k] + self._shift * dt]))
                          for k, old in enumerate(self._io.poisson_so_far(name))]
            self._io.remember_poisson(name, per_neuron)
            source.set(spike_times=[self.sim.Sequence(_playable(t, self.plan)) for t in per_neuron])

    # -- reading -------------------------------------------------------------

    def _collect(self) -> Result:
        dt = self.net.dt
        result = Result(t_stop=self._step * dt, dt=dt)
        for cell in self.plan.populations:
            if not cell.record:
                continue
            if "spikes" in cell.record:
                i, steps = self._io.recorded_spikes(cell.name)
                keep = (steps >= 0) & (steps < self._step)  # the engine runs ahead of the user's time
                i, t = i[keep], steps[keep] * dt
                order = np.lexsort((i, t))
                result.spikes[cell.name] = SpikeTrains(cell.size, i[order], t[order])
            for variable in (v for v in cell.record if v != "spikes"):
                steps, values = self._io.recorded_samples(cell.name, variable)
                keep = (steps >= 0) & (steps < self._step)
                rows = np.full((self._step, cell.size), np.nan)
                rows[steps[keep]] = values[keep]
                result.state.setdefault(cell.name, {})[variable] = rows
        for proj in self.net.projections:
            if isinstance(proj.synapse, STDP):
                result.weights[proj.name] = self.weights(proj.name)
        return result

    def weights(self, projection: str) -> np.ndarray:
        """Current weights (nA) of a projection, dense (n_pre, n_post), NaN = no synapse."""
        proj = self.net.projection(projection)
        n_pre, n_post = self.net.population(proj.pre).size, self.net.population(proj.post).size
        p = self.plan.projection(projection)
        w = np.full((n_pre, n_post), np.nan)
        if not len(p.connections):
            return w
        if projection in self._rules:
            # as of the end of the user's last step, not of the one the engine computes ahead
            values = self._reported.get(projection, self._rules[projection].state.w)
        elif projection in self._native:
            values = self._native_weights(projection)
        else:
            values = self._io.get_weights(projection)
        w[p.connections[:, 0], p.connections[:, 1]] = values
        return w

    def _native_weights(self, projection: str) -> np.ndarray:
        """The weights (nA, plan order) of a projection on NEST's stdp_synapse, as the rule has them now.

        NEST holds each synapse's weight as of its last pre spike and applies the potentiation of
        later post events at the next one; the host adds that pending part
        (:func:`spikemem.ir.plasticity.pending_potentiation`) with NEST's own pre trace ``Kplus``.
        """
        p = self.plan.projection(projection)
        rule: STDP = self.net.projection(projection).synapse
        w, kplus = self._io.weights_and_kplus(projection)
        pre_i, pre_t = self._io.history(p.pre)
        done = pre_t < self._step
        last_pre = np.full(self.net.population(p.pre).size, -1e18)
        np.maximum.at(last_pre, pre_i[done], pre_t[done].astype(float))
        post_j, post_t = self._io.history(p.post)
        delay = int(round(p.delay / self.net.dt))  # NEST back-propagates with the connection's delay
        return pending_potentiation(rule, w, p.connections[:, 1], kplus, last_pre[p.connections[:, 0]],
                                    post_j, post_t + delay, self._step, self.net.dt)

    def close(self) -> None:
        """End the engine's simulation (``sim.end()``)."""
        if not self._closed:
            self._closed = True
            self.sim.end()
            if _LIVE.get(self.plan.engine.name) is self:
                del _LIVE[self.plan.engine.name]


class _KnownNoise(logging.Filter):
    """PyNN's warning that NEST keeps no initial synaptic current (the IR starts it at 0 anyway), and
    its three-line note that the one STDP model it found for a pair rule (stdp_synapse) is used."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("does not allow setting an initial value for I_syn" in message
                    or message.startswith("Several STDP models are available")
                    or message in ("stdp_synapse", "By default, stdp_synapse is used"))


@contextlib.contextmanager
def _quiet():
    """Silence the engines' known, harmless chatter (NEST's deprecation notes on calls PyNN makes)."""
    pynn_log, noise = logging.getLogger("PyNN"), _KnownNoise()
    pynn_log.addFilter(noise)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"(?s).*(GetStatus|SetStatus)\(\) is deprecated")
            warnings.filterwarnings("ignore", message=r"(?s).*Provided for backward compatibility only")
            warnings.filterwarnings("ignore", message=r"Cannot find nest-config")  # PyNN's optional extension
            yield
    finally:
        pynn_log.removeFilter(noise)


class _PyNNIO:
    """Spikes and weights through PyNN's own API (any engine)."""

    def __init__(self, simulation: PyNNSimulation):
        self.s = simulation
        self._seen: dict[str, int] = {}
        self._history: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._poisson: dict[str, list[np.ndarray]] = {}

    def watched(self) -> set[str]:
        """The populations whose spikes the host needs: both ends of every host or NEST plastic rule."""
        names: set[str] = set()
        for name in [*self.s._rules, *self.s._native]:
            proj = self.s.net.projection(name)
            names |= {proj.pre, proj.post}
        return names

    def prepare(self) -> None:
        for name in self.watched():
            pop = self.s.built.populations[name]
            if "spikes" not in pop.recorder.recorded:
                pop.record("spikes")
            self._history[name] = (np.zeros(0, np.int64), np.zeros(0, np.int64))

    def _all_spikes(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        segment = self.s.built.populations[name].get_data("spikes", clear=False).segments[-1]
        dt, shift = self.s.net.dt, self.s._shift
        idx = [np.full(len(tr), k, dtype=np.int64) for k, tr in enumerate(segment.spiketrains)]
        steps = [np.round(np.asarray(tr.magnitude, float) / dt).astype(np.int64) - shift
                 for tr in segment.spiketrains]
        return (np.concatenate(idx) if idx else np.zeros(0, np.int64),
                np.concatenate(steps) if steps else np.zeros(0, np.int64))

    def recorded_spikes(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Every recorded spike of a population: (indices, IR steps), through PyNN."""
        return self._all_spikes(name)

    def recorded_samples(self, name: str, variable: str) -> tuple[np.ndarray, np.ndarray]:
        """A recorded state variable through PyNN: (IR step of each row, rows (n, size))."""
        dt = self.s.net.dt
        segment = self.s.built.populations[name].get_data(clear=False).segments[-1]
        signal = next(s for s in segment.analogsignals if s.name == variable)
        # pyNN.brian2 samples at the start of the step after the IR's sample
        steps = np.round(np.asarray(signal.times.magnitude) / dt).astype(np.int64) - self.s._shift - 1
        return steps, np.asarray(signal.magnitude, dtype=float)

    def new_spikes(self, stop: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        out = {}
        for name in self.watched():
            i, t = self._all_spikes(name)
            self._history[name] = (i, t)
            out[name] = (i, t)
        return out

    def history(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Every spike of a watched population so far: (indices, IR steps)."""
        return self._history[name]

    def set_weights(self, projection: str, w: np.ndarray) -> None:
        p = self.s.plan.projection(projection)
        n_pre = self.s.net.population(p.pre).size
        n_post = self.s.net.population(p.post).size
        dense = np.full((n_pre, n_post), np.nan)
        dense[p.connections[:, 0], p.connections[:, 1]] = w * p.weight_sign
        self.s.built.projections[projection].set(weight=dense)

    def weights_and_kplus(self, projection: str) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError("only NEST runs its own pair rule")

    def simulate(self, ms: float) -> None:
        raise NotImplementedError("only NEST is stepped directly")

    def get_weights(self, projection: str) -> np.ndarray:
        p = self.s.plan.projection(projection)
        dense = np.asarray(self.s.built.projections[projection].get("weight", format="array"), float)
        return dense[p.connections[:, 0], p.connections[:, 1]] * p.weight_sign

    def poisson_so_far(self, name: str) -> list[np.ndarray]:
        size = self.s.net.population(name).size
        return self._poisson.get(name, [np.zeros(0)] * size)

    def remember_poisson(self, name: str, per_neuron: list[np.ndarray]) -> None:
        self._poisson[name] = per_neuron


class _NestIO(_PyNNIO):
    """NEST fast path: spike recorders read directly and weights written in one call."""

    def prepare(self) -> None:
        import nest

        self._nest = nest
        self._first_id: dict[str, int] = {}  # population -> NEST id of its first neuron
        self._known = 0  # spikes of steps before this are in the history
        self._recorders: dict[str, Any] = {}
        for name in self.watched():
            pop = self.s.built.populations[name]
            recorder = nest.Create("spike_recorder")
            nest.Connect(pop.node_collection, recorder)
            self._recorders[name] = recorder
            self._history[name] = (np.zeros(0, np.int64), np.zeros(0, np.int64))
        self._order: dict[str, tuple[Any, np.ndarray, float]] = {}

    def _connections(self, name: str) -> tuple[Any, np.ndarray, float]:
        """NEST's connections of a host-plastic projection, with their order in the plan.

        Fetched after the first run: NEST sorts connections when it prepares the first
        simulation, which invalidates handles taken before.
        """
        if name in self._order:
            return self._order[name]
        nest = self._nest
        p = self.s.plan.projection(name)
        proj = self.s.built.projections[name]
        pre_nodes = self.s.built.populations[p.pre].node_collection
        post_nodes = self.s.built.populations[p.post].node_collection
        conns = nest.GetConnections(source=pre_nodes, target=post_nodes, synapse_model=proj.nest_synapse_model,
                                    synapse_label=proj.nest_synapse_label)
        if len(conns) != len(p.connections):
            raise SpikememError(f"projection '{name}': NEST holds {len(conns)} connections between "
                                f"{p.pre} and {p.post} with its label, the plan {len(p.connections)}; "
                                "the host cannot tell them apart (two projections share a label?)")
        first_pre, first_post = pre_nodes[0].global_id, post_nodes[0].global_id
        # one connection gives bare numbers
        src = np.atleast_1d(np.asarray(conns.get("source"), dtype=np.int64)) - first_pre
        tgt = np.atleast_1d(np.asarray(conns.get("target"), dtype=np.int64)) - first_post
        n_post = self.s.net.population(p.post).size
        index = {int(a) * n_post + int(b): k for k, (a, b) in enumerate(p.connections)}
        perm = np.asarray([index[int(a) * n_post + int(b)] for a, b in zip(src, tgt)], dtype=np.int64)
        sign = 1000.0 * p.weight_sign  # nA -> pA, and NEST's sign for inhibition
        self._order[name] = (conns, perm, sign)
        return self._order[name]

    def _events(self, name: str, device: Any) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """A PyNN recording device's events as NEST holds them, and each sender's index.

        Read from NEST itself: PyNN drops events stamped after its own clock, and its
        clock (a rounded difference) can fall a rounding error short of the last step
        NEST ran, which would lose the last recorded row.
        """
        events = {k: np.atleast_1d(np.asarray(v)) for k, v in device.get("events").items()}
        if name not in self._first_id:  # asking NEST costs a call per step otherwise
            self._first_id[name] = self.s.built.populations[name].node_collection[0].global_id
        return events, events["senders"].astype(np.int64) - self._first_id[name]

    def recorded_spikes(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Every recorded spike of a population: (indices, IR steps)."""
        events, i = self._events(name, self.s.built.populations[name].recorder._spike_detector.device)
        steps = np.round(events["times"].astype(float) / self.s.net.dt).astype(np.int64) - self.s._shift
        return i, steps

    def recorded_samples(self, name: str, variable: str) -> tuple[np.ndarray, np.ndarray]:
        """A recorded state variable: (IR step of each row, rows (n, size)).

        NEST samples at the end of its step: a sample stamped at engine step k is IR step
        k - time_shift.
        """
        pop = self.s.built.populations[name]
        events, i = self._events(name, pop.recorder._multimeter.device)
        stamp = np.round(events["times"].astype(float) / self.s.net.dt).astype(np.int64)
        values = events[pop.celltype.variable_map[variable]].astype(float)
        first_stamp = int(stamp.min()) if len(stamp) else 0
        rows = np.full((int(stamp.max()) - first_stamp + 1 if len(stamp) else 0, pop.size), np.nan)
        rows[stamp - first_stamp, i] = values
        return np.arange(len(rows), dtype=np.int64) + first_stamp - self.s._shift, rows

    def new_spikes(self, stop: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Spikes of the steps since the last call up to ``stop - 1``.

        NEST hands a step's spikes to recorders (and reads plastic weights) when it delivers
        them, at the start of the next run; the spikes of the last step run are read from the
        neurons' last spike time (``t_spike``) instead, so the host can update the weights
        those spikes will carry.
        """
        out = {}
        dt, shift = self.s.net.dt, self.s._shift
        for name, recorder in self._recorders.items():
            events, i = self._events(name, recorder)
            nodes = self.s.built.populations[name].node_collection
            t = np.round(events["times"].astype(float) / dt).astype(np.int64) - shift
            recorder.set(n_events=0)
            delivered = (t >= self._known) & (t < stop - 1)
            # a population of one neuron gives a bare number
            last_spike = np.round(np.atleast_1d(np.asarray(nodes.get("t_spike"), float)) / dt).astype(np.int64) - shift
            latest = np.nonzero(last_spike == stop - 1)[0]
            i = np.concatenate([i[delivered], latest])
            t = np.concatenate([t[delivered], np.full(len(latest), stop - 1, dtype=np.int64)])
            old_i, old_t = self._history[name]
            self._history[name] = (np.concatenate([old_i, i]), np.concatenate([old_t, t]))
            out[name] = (i, t)
        self._known = stop
        return out

    def set_weights(self, projection: str, w: np.ndarray) -> None:
        conns, perm, sign = self._connections(projection)
        conns.set(weight=(w[perm] * sign).tolist())

    def simulate(self, ms: float) -> None:
        """Advance NEST by ``ms`` (a whole number of steps; NEST rounds it to its time grid)."""
        self._nest.Simulate(ms)

    def weights_and_kplus(self, projection: str) -> tuple[np.ndarray, np.ndarray]:
        """Weights (nA) and pre traces of a projection on NEST's stdp_synapse, in plan order."""
        conns, perm, sign = self._connections(projection)
        status = conns.get(["weight", "Kplus"])
        w, kplus = np.empty(len(perm)), np.empty(len(perm))
        w[perm] = np.atleast_1d(np.asarray(status["weight"], float)) / sign
        kplus[perm] = np.atleast_1d(np.asarray(status["Kplus"], float))
        return w, kplus
