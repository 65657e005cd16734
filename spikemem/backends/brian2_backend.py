"""The Brian2 backend: the reference semantics of every description.

Targets: ``"numpy"`` (no compilation), ``"cython"`` (compiled once per
machine, then cached) and ``"cpp_standalone"`` (a whole C++ program, compiled
once per network structure and cached; new stimuli, initial values, weights and
parameters only rerun it, see :mod:`spikemem.backends.brian2_standalone`; one
``run`` per simulation).

How the IR maps onto Brian2, and why:

- Time is discrete with step ``net.dt``. Each neuron model's update is an
  explicit per-step linear map (:mod:`spikemem.ir.dynamics`) run in the
  ``groups`` slot, so both IFCurrExp integration schemes are exact to the
  last bit and need no ODE solver.
- Delays: a spike at step t through a projection can make its target fire at
  step t + a at the earliest, with a = :func:`spikemem.ir.timing.arrival_steps`
  (d + 1 for a PyNN delay of d steps, d under the SpiNNaker convention). Brian2
  delivers spikes after the threshold test of the same step and the membrane
  sees them in the next update, so the Brian2 pathway delay is a - 1 steps
  (for a PyNN delay: d, as plain Brian2 does with the same number).
- STDP runs in three pathways of one ``Synapses``: ``plast`` (pre event, at
  the pre spike's step), ``post`` (post event, ``post_delay`` after the post
  spike) and ``pre`` (transmission, after ``plast`` so the updated weight is
  sent). ``same_step`` orders ``plast`` and ``post``. Traces decay lazily
  between events with exact exponentials. As on NEST and SpiNNaker, the
  weight a spike carries is the one at the end of its step, also when it
  arrives later: with a delay above one step a ``store`` pathway keeps it in
  a slot per step in flight.
- A learning gate is a ``Synapses`` from the gate population onto the STDP
  synapses (a third factor reaching every synapse) that stamps the start of
  the episode into each synapse before any other pathway of that step.
- Parameters are shared constants of their group, not literals in the code,
  so code generated for one size or parameter set is reused by the next
  (the cython cache stays warm), and object names are stable.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from spikemem.backends.result import Result, SpikeTrains
from spikemem.errors import SpikememError, UnsupportedFeature
from spikemem.ir.connectivity import connect, initial_values, poisson_times, rng_for
from spikemem.ir.dynamics import ifcurrexp_step
from spikemem.ir.network import Network, Population, Projection
from spikemem.ir.neurons import LIF, IFCurrExp, Poisson, SpikeSource
from spikemem.ir.synapses import STDP, Additive, Static
from spikemem.ir.timing import arrival_steps

TARGETS = ("numpy", "cython", "cpp_standalone")

#: IR recordable -> Brian2 variable, per neuron model
_STATE_NAMES = {IFCurrExp: {"v": "v", "isyn_exc": "I_E", "isyn_inh": "I_I"}, LIF: {"mem": "mem"}}

_IFCURREXP_MODEL = """
v : 1
I_E : 1
I_I : 1
v_inf : 1 (shared, constant)
v_thresh : 1 (shared, constant)
v_reset : 1 (shared, constant)
ref_steps : 1 (shared, constant)
ref_until : 1
p22 : 1 (shared, constant)
p11_E : 1 (shared, constant)
p11_I : 1 (shared, constant)
p21_E : 1 (shared, constant)
p21_I : 1 (shared, constant)
spike_scale_E : 1 (shared, constant)
spike_scale_I : 1 (shared, constant)
"""
_IFCURREXP_STEP = """
active = int(t_in_timesteps > ref_until)
v = active * (v_inf + (v - v_inf) * p22 + p21_E * I_E - p21_I * I_I) + (1 - active) * v
I_E = I_E * p11_E
I_I = I_I * p11_I
"""

_LIF_MODEL = """
mem : 1
x : 1
beta : 1 (shared, constant)
threshold : 1 (shared, constant)
"""
# snnTorch Leaky: the reset of a spike acts in the next step
_LIF_STEP = {
    "subtract": "mem = beta * mem + x - int(mem > threshold) * threshold\nx = 0",
    "zero": "mem = beta * mem * (1 - int(mem > threshold)) + x\nx = 0",
}

_STDP_MODEL = """
w : 1
apre : 1
apost : 1
lpre : 1
lpost : 1
lforget : 1
t_open : 1
tau_plus : 1 (shared, constant)
tau_minus : 1 (shared, constant)
A_plus : 1 (shared, constant)
A_minus : 1 (shared, constant)
w_min : 1 (shared, constant)
w_max : 1 (shared, constant)
window : 1 (shared, constant)
"""


@dataclass
class _Built:
    """The Brian2 objects of one network, by IR name."""
    groups: dict[str, object] = field(default_factory=dict)
    synapses: dict[str, object] = field(default_factory=dict)
    spike_monitors: dict[str, object] = field(default_factory=dict)
    state_monitors: dict[str, object] = field(default_factory=dict)
    extra: list[object] = field(default_factory=list)


def compile(net: Network, target: str = "numpy", standalone_dir: str | None = None) -> "Brian2Simulation":
    """Build ``net`` for Brian2 on ``target`` (``numpy``, ``cython`` or ``cpp_standalone``).

    ``standalone_dir``: the cache of compiled ``cpp_standalone`` programs, one folder per
    network structure (default: :func:`spikemem.backends.brian2_standalone.default_cache_dir`).
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, got {target!r}")
    for k, pop in enumerate(net.populations):
        if not isinstance(pop.model, (IFCurrExp, LIF, SpikeSource, Poisson)):
            raise UnsupportedFeature(f"populations[{k}] ({pop.name})", type(pop.model).__name__, "brian2")
    return Brian2Simulation(net, target, standalone_dir)


class Brian2Simulation:
    """A network built in its own ``brian2.Network`` (two simulations never share state)."""

    def __init__(self, net: Network, target: str, standalone_dir: str | None):
        self.net, self.target = net, target
        self._t = 0.0
        self._poisson_rng = {p.name: rng_for(net, f"population:{p.name}")
                             for p in net.populations if isinstance(p.model, Poisson)}
        if target == "cpp_standalone":
            from spikemem.backends import brian2_standalone

            # brian2 itself is imported only if the program is not in the cache yet
            self._b2 = None
            self._cache = Path(standalone_dir) if standalone_dir else brian2_standalone.default_cache_dir()
            self._built = None  # built inside run(): the duration is part of the program
            self._tables: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
            #: what the last run did: "reused" a cached program or "compiled" one
            self.standalone_build: str | None = None
            #: CPU seconds the program spent in its simulation loop in the last run
            self.standalone_run_s: float | None = None
        else:
            import brian2 as b2

            self._b2 = b2
            with _codegen_target(b2, target):
                self._built = self._build()
                self._network = _included(b2.Network(*self._objects(self._built)))

    # -- building ------------------------------------------------------------

    def _build(self) -> _Built:
        b2 = self._b2
        dt = b2.Clock(self.net.dt * b2.ms, name="spikemem_clock")  # one clock for every object
        built = _Built()
        for pop in self.net.populations:
            built.groups[pop.name] = self._group(pop, dt)
        for proj in self.net.projections:
            self._projection(proj, built, dt)
        for name, variables in self.net.recorded().items():
            group, model = built.groups[name], self.net.population(name).model
            if "spikes" in variables:
                built.spike_monitors[name] = b2.SpikeMonitor(group, name=f"spikes_{name}")
            state = [_STATE_NAMES[type(model)][v] for v in variables if v != "spikes"]
            if state:
                built.state_monitors[name] = b2.StateMonitor(
                    group, state, record=True, when="end", clock=dt, name=f"state_{name}")
        return built

    def _group(self, pop: Population, dt) -> object:
        b2, m = self._b2, pop.model
        name = f"pop_{pop.name}"
        if self.target == "cpp_standalone" and isinstance(m, (SpikeSource, Poisson)):
            return self._table_source(pop, dt, name)
        if isinstance(m, SpikeSource):
            idx, times = _source_arrays(pop.name, m.spike_times, self.net.dt)
            return b2.SpikeGeneratorGroup(pop.size, idx, times * b2.ms, clock=dt, name=name)
        if isinstance(m, Poisson):
            return b2.SpikeGeneratorGroup(pop.size, np.zeros(0, int), np.zeros(0) * b2.ms, clock=dt, name=name)
        if isinstance(m, IFCurrExp):
            c = ifcurrexp_step(m, self.net.dt)
            # refractoriness counted in steps here: Brian2's own counts the spike step itself
            g = b2.NeuronGroup(pop.size, _IFCURREXP_MODEL, threshold="v >= v_thresh",
                               reset="v = v_reset\nref_until = t_in_timesteps + ref_steps",
                               clock=dt, name=name)
            for key in ("v_inf", "p22", "p11_E", "p11_I", "p21_E", "p21_I", "spike_scale_E", "spike_scale_I"):
                setattr(g, key, getattr(c, key))
            g.v_thresh, g.v_reset, g.v = m.v_thresh, m.v_reset, initial_values(self.net, pop)
            g.ref_steps, g.ref_until = c.refractory_steps, -1
            g.run_regularly(_IFCURREXP_STEP, clock=dt, when="groups", name=f"{name}_step")
            return g
        g = b2.NeuronGroup(pop.size, _LIF_MODEL, threshold="mem > threshold", clock=dt, name=name)
        g.beta, g.threshold, g.mem = m.beta, m.threshold, initial_values(self.net, pop)
        g.run_regularly(_LIF_STEP[m.reset], clock=dt, when="groups", name=f"{name}_step")
        return g

    def _table_source(self, pop: Population, dt, name: str) -> object:
        """A spike source whose spikes the run arguments set (cpp_standalone).

        A SpikeGeneratorGroup's spikes are compiled into the program, so here neuron k
        fires at the steps ``table[k_next .. k_end)`` of one sorted table, a TimedArray
        read at index ``k_next`` (``table(k_next * dt)``). Only the table's capacity is
        part of the program.
        """
        b2 = self._b2
        start, end, steps = self._tables[pop.name]
        table = b2.TimedArray(steps, dt=dt.dt, name=f"table_{pop.name}")
        g = b2.NeuronGroup(pop.size, "k_next : 1\nk_end : 1",
                           threshold="k_next < k_end and table(k_next * dt) == t_in_timesteps",
                           reset="k_next += 1", clock=dt, namespace={"table": table}, name=name)
        g.k_next, g.k_end = start, end
        return g

    def _projection(self, proj: Projection, built: _Built, dt) -> None:
        b2 = self._b2
        post_model = self.net.population(proj.post).model
        syn = connect(self.net, proj)
        deliver = _delivery(proj, post_model)
        delay_steps = arrival_steps(self.net, proj) - 1
        name = f"proj_{proj.name}"
        pre, post = built.groups[proj.pre], built.groups[proj.post]
        if isinstance(proj.synapse, Static):
            # a scalar delay in the constructor keeps it homogeneous (no per-synapse variable), and a
            # scalar weight is one shared constant (no per-synapse array to build, fill and gather)
            shared = isinstance(proj.weight, (int, float))
            s = b2.Synapses(pre, post, "w : 1 (shared, constant)" if shared else "w : 1", on_pre=deliver,
                            delay=delay_steps * dt.dt, clock=dt, name=name)
            if len(syn.i):
                s.connect(i=syn.i, j=syn.j)
                s.w = float(proj.weight) if shared else syn.w
            else:  # a connector that drew no synapse (Brian2 refuses empty arrays and unconnected Synapses)
                s.active = False
        else:
            s = self._stdp(proj, pre, post, syn, deliver, delay_steps, built, dt, name)
        built.synapses[proj.name] = s

    def _stdp(self, proj: Projection, pre, post, syn, deliver: str, delay_steps: int, built: _Built,
              dt, name: str) -> object:
        b2 = self._b2
        rule: STDP = proj.synapse
        timing, gate = rule.timing, rule.gate
        code = _stdp_code(rule)
        delays = {"pre": delay_steps * dt.dt, "plast": 0 * dt.dt,
                  "post": int(round(timing.post_delay / self.net.dt)) * dt.dt}
        model, on_pre = _STDP_MODEL, {"plast": code["pre"], "pre": deliver}
        if delay_steps > 0:
            # PyNN engines read a plastic weight when the spike leaves: keep the weight sent at each
            # step in one slot per step in flight, delivered delay_steps later
            slots = range(delay_steps)
            model += "".join(f"wq_{k} : 1\n" for k in slots)
            if delay_steps == 1:  # one spike in flight at a time: a single slot, no selection
                store, sent = "wq_0 = w", "wq_0"
            else:  # the slot of this step takes w exactly (w * 1 + old * 0), the others keep theirs
                store = "\n".join(f"wq_{k} = w * int(t_in_timesteps % {delay_steps} == {k}) "
                                   f"+ wq_{k} * int(t_in_timesteps % {delay_steps} != {k})" for k in slots)
                sent = " + ".join(f"wq_{k} * int(t_in_timesteps % {delay_steps} == {k})" for k in slots)
            on_pre["pre"] = deliver.replace("+= w", f"+= ({sent})").replace("-= w", f"-= ({sent})")
            if timing.same_step == "post_first":
                # plast is the last pathway of the step that writes w: it sends its own result
                # (one pathway less to run every step)
                on_pre["plast"] += store + "\n"
            else:
                on_pre["store"], delays["store"] = store, 0 * dt.dt
        s = b2.Synapses(pre, post, model, on_pre=on_pre,
                        on_post={"post": code["post"]}, delay=delays, clock=dt, name=name)
        if not len(syn.i):
            s.active = False
            return s
        s.connect(i=syn.i, j=syn.j)
        s.w = syn.w
        s.lpre = s.lpost = s.lforget = -1e9
        # Without a gate the episode is always open: t_open far in the past, window infinite.
        s.t_open = -1e9 if gate is not None else -1e18
        s.window = gate.window / self.net.dt if gate is not None else 1e30
        s.tau_plus, s.tau_minus = timing.tau_plus / self.net.dt, timing.tau_minus / self.net.dt
        s.A_plus, s.A_minus = timing.A_plus, timing.A_minus
        s.w_min, s.w_max = rule.weights.w_min, rule.weights.w_max
        first, second = (s.post, s.plast) if timing.same_step == "post_first" else (s.plast, s.post)
        first.order, second.order, s.pre.order = 1, 2, 3
        if delay_steps > 0:
            s.pre.order = -1  # deliver what an earlier step sent, then send this one (store: last)
            if "store" in on_pre:
                s.store.order = 3
        if gate is not None:
            g = b2.Synapses(built.groups[gate.population], s, on_pre="t_open = t_in_timesteps",
                            delay=int(round(gate.delay / self.net.dt)) * dt.dt, clock=dt,
                            name=f"gate_{proj.name}")
            # every gate neuron reaches every synapse (explicit arrays: no connection code to generate)
            n_gate, n_syn = self.net.population(gate.population).size, len(syn.i)
            g.connect(i=np.repeat(np.arange(n_gate), n_syn), j=np.tile(np.arange(n_syn), n_gate))
            g.pre.order = 0
            built.extra.append(g)
        return s

    @staticmethod
    def _objects(built: _Built) -> list[object]:
        return [*built.groups.values(), *built.synapses.values(), *built.spike_monitors.values(),
                *built.state_monitors.values(), *built.extra]

    # -- running -------------------------------------------------------------

    def run(self, duration: float) -> Result:
        """Advance by ``duration`` ms; return everything recorded since t = 0."""
        b2 = self._b2
        steps = duration / self.net.dt
        if steps < 0 or abs(steps - round(steps)) > 1e-9:
            raise ValueError(f"duration must be a whole number of steps of {self.net.dt} ms, got {duration}")
        start = time.perf_counter()
        if self.target == "cpp_standalone":
            result = self._run_standalone(duration)
        else:
            self._feed_poisson(self._built, self._t, self._t + duration)
            with _codegen_target(b2, self.target):
                self._network.run(duration * b2.ms, namespace={})
            self._t += duration
            result = self._collect(self._built)
        result.wall_s = time.perf_counter() - start
        return result

    def _run_standalone(self, duration: float) -> Result:
        from spikemem.backends import brian2_standalone as standalone

        if self._t > 0:
            raise SpikememError("target 'cpp_standalone' builds one program per simulation and runs it "
                                "once: call run() a single time with the whole duration, or use "
                                "target='cython' for segmented runs")
        plan, built = self.standalone_plan(duration)
        outputs = self._outputs(built)
        entry = standalone.lookup(self._cache, plan.key)
        self.standalone_build = "reused" if entry else "compiled"
        if entry is None:
            entry = standalone.store(self._cache, plan.key, lambda folder: self._compile_program(
                folder, duration, plan, outputs))
        files, self.standalone_run_s = standalone.execute(entry, plan.run_args, plan.sizes, outputs)
        self._t = duration
        return self._collect_files(files)

    def standalone_plan(self, duration: float):
        """The key and run arguments of the cpp_standalone program that runs ``duration`` ms
        (:func:`spikemem.backends.brian2_standalone.plan`; imports no brian2), and the
        recorded build."""
        from spikemem.backends import brian2_standalone as standalone

        self._tables = {p.name: self._table(p, duration) for p in self.net.populations
                        if isinstance(p.model, (SpikeSource, Poisson))}
        return standalone.plan(lambda recorder: self._program(recorder, duration, real=False))

    def _program(self, b2, duration: float, real: bool) -> _Built:
        """Build the network against ``b2`` (brian2 if ``real``, else the standalone recorder)
        and run it for ``duration`` ms."""
        self._b2 = b2
        built = self._build()
        network = b2.Network(*self._objects(built))
        if real:
            _included(network)
        network.run(duration * b2.ms, namespace={})
        return built

    def _compile_program(self, folder: Path, duration: float, plan, outputs: list[str]) -> dict:
        """Generate and compile the C++ program into ``folder``; return its manifest."""
        import brian2 as b2

        from spikemem.backends import brian2_standalone as standalone

        b2.set_device("cpp_standalone", directory=str(folder), build_on_run=False)
        try:
            b2.device.reinit()
            b2.device.activate(directory=str(folder), build_on_run=False)
            self._program(b2, duration, real=True)
            b2.device.build(directory=str(folder), compile=True, run=False, with_output=False)
            return standalone.manifest(b2, plan, outputs)
        finally:
            b2.device.reinit()
            b2.set_device("runtime")
            self._b2 = None

    def _table(self, pop: Population, duration: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(first, end, steps) of a source's spikes: neuron k fires at ``steps[first[k]:end[k]]``.

        The table's length is part of the compiled program: the next power of two of the
        number of spikes, and at least 1/16 of the source's neuron-steps, so any stimulus of
        up to one spike in 16 steps per neuron reuses the program of the same network.
        """
        if isinstance(pop.model, SpikeSource):
            idx, times = _source_arrays(pop.name, pop.model.spike_times, self.net.dt)
        else:
            # a fresh generator: the one run from t = 0 draws what the first run of numpy draws
            idx, times = poisson_times(pop.model, pop.size, self.net.dt, 0.0, duration,
                                       rng_for(self.net, f"population:{pop.name}"))
        steps = np.round(np.asarray(times) / self.net.dt)
        order = np.lexsort((steps, idx))
        idx, steps = np.asarray(idx)[order], steps[order]
        counts = np.bincount(idx, minlength=pop.size)
        end = np.cumsum(counts)
        floor = -(-pop.size * round(duration / self.net.dt) // 16)
        capacity = 1 << max(4, int(max(len(steps), floor) - 1).bit_length())
        table = np.full(capacity, -1.0)
        table[:len(steps)] = steps
        return (end - counts).astype(float), end.astype(float), table

    def _outputs(self, built: _Built) -> list[str]:
        """The ``object.variable`` arrays a standalone run reads back."""
        out = [f"{mon.name}.{v}" for mon in built.spike_monitors.values() for v in ("i", "t")]
        for name, variables in self.net.recorded().items():
            if name in built.state_monitors:
                names = _STATE_NAMES[type(self.net.population(name).model)]
                out += [f"state_{name}.{names[v]}" for v in variables if v != "spikes"]
        for proj in self.net.projections:
            if isinstance(proj.synapse, STDP):
                s = built.synapses[proj.name].name
                out += [f"{s}._synaptic_pre", f"{s}._synaptic_post", f"{s}.w"]
        return out

    def _collect_files(self, files: dict[str, np.ndarray]) -> Result:
        """A Result from the arrays a standalone program wrote (see :meth:`_outputs`)."""
        dt = self.net.dt
        result = Result(t_stop=self._t, dt=dt)
        for name, variables in self.net.recorded().items():
            pop = self.net.population(name)
            if "spikes" in variables:
                times = np.round(files[f"spikes_{name}.t"] * 1000.0 / dt) * dt  # the program counts in s
                result.spikes[name] = SpikeTrains(pop.size, files[f"spikes_{name}.i"].astype(np.int64), times)
            state = {ir: files[f"state_{name}.{b2name}"].reshape(-1, pop.size).copy()
                     for ir, b2name in _STATE_NAMES.get(type(pop.model), {}).items()
                     if f"state_{name}.{b2name}" in files}
            if state:
                result.state[name] = state
        for proj in self.net.projections:
            if isinstance(proj.synapse, STDP):
                s = f"proj_{proj.name}"
                w = np.full((self.net.population(proj.pre).size, self.net.population(proj.post).size), np.nan)
                w[files[f"{s}._synaptic_pre"], files[f"{s}._synaptic_post"]] = files[f"{s}.w"]
                result.weights[proj.name] = w
        return result

    def _feed_poisson(self, built: _Built, t0: float, t1: float) -> None:
        b2 = self._b2
        for name, rng in self._poisson_rng.items():
            pop = self.net.population(name)
            idx, times = poisson_times(pop.model, pop.size, self.net.dt, t0, t1, rng)
            built.groups[name].set_spikes(idx, times * b2.ms)

    def _collect(self, built: _Built) -> Result:
        b2, dt = self._b2, self.net.dt
        result = Result(t_stop=self._t, dt=dt)
        for name, mon in built.spike_monitors.items():
            times = np.round(np.asarray(mon.t / b2.ms) / dt) * dt
            result.spikes[name] = SpikeTrains(self.net.population(name).size,
                                              np.asarray(mon.i[:], dtype=np.int64), times)
        for name, mon in built.state_monitors.items():
            model = self.net.population(name).model
            result.state[name] = {ir: np.asarray(getattr(mon, b2name)).T.copy()
                                  for ir, b2name in _STATE_NAMES[type(model)].items()
                                  if b2name in mon.record_variables}
        for proj in self.net.projections:
            if isinstance(proj.synapse, STDP):
                result.weights[proj.name] = self._dense(proj, built.synapses[proj.name])
        return result

    def _dense(self, proj: Projection, s) -> np.ndarray:
        w = np.full((self.net.population(proj.pre).size, self.net.population(proj.post).size), np.nan)
        w[np.asarray(s.i[:]), np.asarray(s.j[:])] = np.asarray(s.w[:])
        return w

    def weights(self, projection: str) -> np.ndarray:
        """Current weights (nA) of any projection as a dense (n_pre, n_post) array, NaN = no synapse."""
        if self._built is None:
            raise SpikememError("weights are read from the result of a cpp_standalone run (Result.weights)")
        return self._dense(self.net.projection(projection), self._built.synapses[projection])


@contextlib.contextmanager
def _codegen_target(b2, target: str):
    """Generate code for ``target`` (prefs are global in Brian2; restore them after)."""
    previous = b2.prefs.codegen.target
    b2.prefs.codegen.target = target
    try:
        yield
    finally:
        b2.prefs.codegen.target = previous


def _included(network):
    """``network``, with each of its objects marked as included in it.

    Brian2 warns "object ... is getting deleted, but was never included in a network" for
    every BrianObject whose ``_network`` is still None when it is garbage collected, and it
    sets ``_network`` only when a run starts. A simulation compiled and dropped before it
    ran (a notebook cell run again) would print one warning per population, projection and
    monitor, though every one of them is in a network. Marking them with the network's id
    is what ``Network.before_run`` does itself, so a later run accepts them; objects the
    user makes are left alone and still warn.
    """
    for obj in network.objects:
        obj._network = network.id
    return network


def _source_arrays(name: str, spike_times: list[list[float]], dt: float) -> tuple[np.ndarray, np.ndarray]:
    idx = [k for k, times in enumerate(spike_times) for _ in times]
    steps = [int(round(t / dt)) for times in spike_times for t in times]
    return np.asarray(idx, dtype=np.int64), np.asarray(steps, dtype=float) * dt


def _delivery(proj: Projection, post_model) -> str:
    """Transmission code: the weight enters the target's input (scaled per the scheme)."""
    if isinstance(post_model, LIF):
        return "x_post += w" if proj.receptor == "excitatory" else "x_post -= w"
    x = "E" if proj.receptor == "excitatory" else "I"
    return f"I_{x}_post += w * spike_scale_{x}_post"


def _stdp_code(rule: STDP) -> dict[str, str]:
    """Abstract code of the pre (``plast``) and post events of a pair rule.

    Traces decay lazily from their last update (``lpre``/``lpost``, in steps);
    with ``reset_traces`` a trace last updated before the episode opened counts
    as 0. Weight changes are multiplied by ``episode`` (1 inside the gate's
    window, always 1 without a gate).
    """
    timing, gate = rule.timing, rule.gate
    additive = isinstance(rule.weights, Additive)
    keep_pre = "int(lpre >= t_open)" if gate is not None and gate.reset_traces else "1"
    keep_post = "int(lpost >= t_open)" if gate is not None and gate.reset_traces else "1"
    common = f"""
episode = int(t_in_timesteps >= t_open) * int(t_in_timesteps - t_open < window)
apre = apre * exp(-(t_in_timesteps - lpre) / tau_plus) * {keep_pre}
apost = apost * exp(-(t_in_timesteps - lpost) / tau_minus) * {keep_post}
lpre = t_in_timesteps
lpost = t_in_timesteps
"""
    def forget(side: str) -> str:
        if gate is None or gate.forget != side:
            return ""
        return ("forgetting = episode * int(lforget < t_open)\n"
                "w = w * (1 - forgetting) + w_min * forgetting\n"
                "lforget = lforget * (1 - forgetting) + t_in_timesteps * forgetting\n")
    bump = "+ 1" if timing.traces == "all_to_all" else "* 0 + 1"
    dep = "A_minus * w_max * apost" if additive else "A_minus * (w - w_min) * apost"
    pot = "A_plus * w_max * apre" if additive else "A_plus * (w_max - w) * apre"
    pre = common + forget("pre") + f"w = clip(w - episode * {dep}, w_min, w_max)\napre = apre {bump}\n"
    post = common + forget("post") + f"w = clip(w + episode * {pot}, w_min, w_max)\napost = apost {bump}\n"
    return {"pre": pre, "post": post}
