"""The torch backend: a description stepped on torch tensors, B independent trials at once.

``compile(net, device="cpu", dtype=torch.float64, batch=None, stimuli=None)``.
On the CPU in float64 it gives Brian2's spikes (tests/test_equivalence.py), by
the same per-step semantics (:mod:`spikemem.backends.brian2_backend`):

- every neuron of one model kind steps as one pool (:mod:`spikemem.torchsim.neurons`,
  per-neuron coefficients from :mod:`spikemem.ir.dynamics`): update, threshold,
  reset; then the input that arrives in the step enters the synaptic currents;
- a spike at step t through a projection reaches its target's currents at step
  t + a - 1, a = :func:`spikemem.ir.timing.arrival_steps` (a delay ring per pool),
  so the target can fire at t + a at the earliest;
- STDP (:mod:`spikemem.torchsim.stdp`): the gate opens first, then pre and post
  events in ``same_step`` order; a pre spike carries the weight at the end of
  its sending step, also through a longer delay;
- SpikeSource and Poisson spikes are the ones every backend plays (Poisson:
  :func:`spikemem.ir.connectivity.poisson_times`, drawn per run from the seed).

Work is skipped where nothing happens (populations without spikes send nothing,
empty delay slots deliver nothing, gated rules skip trials outside an episode),
which costs one host synchronisation per step.

Batches: ``batch=B`` runs B trials of the same network in one set of tensors.
They differ only in their stimuli: ``stimuli={"pop": [trial_0, ..., trial_B-1]}``
gives a ``SpikeSource`` population one ``spike_times`` list (one list of ms per
neuron) per trial; the other sources play the description's spikes in every trial
(a Poisson source the same draws in every trial). ``run`` then returns a
:class:`~spikemem.backends.result.BatchResult` whose ``trials[b]`` is the
:class:`~spikemem.backends.result.Result` trial b gives alone; with B = 1 it returns
a plain ``Result``.
"""
from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from spikemem.backends.result import BatchResult, Result, SpikeTrains
from spikemem.errors import DescriptionError, SpikememError, UnsupportedFeature
from spikemem.ir.connectivity import connect, initial_values, poisson_times, rng_for
from spikemem.ir.dynamics import ifcurrexp_step as ir_ifcurrexp_step
from spikemem.ir.network import Network, Projection
from spikemem.ir.neurons import LIF, IFCurrExp, Poisson, SpikeSource
from spikemem.ir.synapses import STDP, OneToOne
from spikemem.ir.timing import arrival_steps
from spikemem.torchsim import neurons as tn
from spikemem.torchsim import stdp as ts
from spikemem.torchsim import synapses as tsyn

_DTYPES = {"float64": torch.float64, "float32": torch.float32}


def compile(net: Network, device: str | torch.device = "cpu", dtype: torch.dtype | str = torch.float64,
            batch: int | None = None, stimuli: dict[str, list[list[list[float]]]] | None = None,
            ) -> "TorchSimulation":
    """Build ``net`` on torch ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``) in ``dtype`` (float64:
    Brian2's spikes; float32 is faster and not checked against it) for ``batch`` trials (default: 1,
    or the number of trials in ``stimuli``), with per-trial spike times for SpikeSource populations."""
    return TorchSimulation(net, _device(device), _dtype(dtype), _batch(batch, stimuli), stimuli or {})


def _device(device: str | torch.device) -> torch.device:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device: {device!r} is not a torch device ({exc}); use 'cpu' or 'cuda'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SpikememError(f"device={str(device)!r}: this torch ({torch.__version__}) sees no CUDA device "
                            f"(torch.cuda.is_available() is False); use device='cpu', or run on a machine "
                            f"with a GPU and a CUDA build of torch")
    return dev


def _dtype(dtype: torch.dtype | str) -> torch.dtype:
    if isinstance(dtype, str) and dtype in _DTYPES:
        return _DTYPES[dtype]
    if dtype in _DTYPES.values():
        return dtype
    raise ValueError(f"dtype: must be torch.float64 or torch.float32 ('float64', 'float32'), got {dtype!r}")


def _batch(batch: int | None, stimuli: dict[str, Any] | None) -> int:
    trials = {name: len(v) for name, v in (stimuli or {}).items() if isinstance(v, (list, tuple))}
    if batch is None:
        batch = max(trials.values(), default=1)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch: must be an integer >= 1 (the number of trials), got {batch!r}")
    return batch


@dataclass
class _Pop:
    """Where one population lives: its kind, its columns in the step's spike vector and in its pool."""
    name: str
    kind: str          # "ifc", "lif" or "src"
    size: int
    z: slice           # columns in the spike vector of a step
    pool: slice        # columns in its pool (neurons of one kind, or sources)


@dataclass
class _Static:
    proj: Projection
    pre: _Pop
    post: _Pop
    delay: int          # pathway delay (steps): arrival_steps - 1
    channel: int        # 0: I_E (or LIF input), 1: I_I
    matrix: tsyn.SynapticMatrix


@dataclass
class _Plastic:
    proj: Projection
    pre: _Pop
    post: _Pop
    delay: int
    channel: int
    params: ts.PairRuleParams
    state: ts.PairRuleState
    mask: torch.Tensor          # (n_pre, n_post) bool: the connector's synapses
    send: torch.Tensor | None   # (n_pre, n_post): mask * spike_scale * sign; None when all ones
    gate: _Pop | None
    events: dict[str, int] = field(default_factory=lambda: {"pre": 0, "post": 0})


#: every this many steps a plastic state moves to the memory layout that suits its events
_RELAYOUT_EVERY = 128


class TorchSimulation:
    """A network compiled for torch; ``run(duration)`` advances it (segmented runs continue)."""

    def __init__(self, net: Network, device: torch.device, dtype: torch.dtype, batch: int,
                 stimuli: dict[str, list[list[list[float]]]]):
        self.net, self.device, self.dtype, self.batch = net, device, dtype, batch
        self._t, self._step = 0.0, 0
        self._refuse(net)
        self._layout(net)
        self._sources = self._source_events(net, _checked_stimuli(net, stimuli, batch))
        self._poisson_rng = {p.name: rng_for(net, f"population:{p.name}")
                             for p in net.populations if isinstance(p.model, Poisson)}
        self._build_neurons(net)
        self._build_projections(net)
        self._history: deque = deque(maxlen=self._history_depth)
        self._spike_rec: list[torch.Tensor] = []
        self._state_rec: dict[tuple[str, str], list[torch.Tensor]] = {key: [] for key in self._state_keys}

    # -- building ------------------------------------------------------------

    @staticmethod
    def _refuse(net: Network) -> None:
        for k, pop in enumerate(net.populations):
            if not isinstance(pop.model, (IFCurrExp, LIF, SpikeSource, Poisson)):
                raise UnsupportedFeature(f"populations[{k}] ({pop.name})", type(pop.model).__name__, "torch")

    def _layout(self, net: Network) -> None:
        kinds = {"ifc": [], "lif": [], "src": []}
        for pop in net.populations:
            kind = "ifc" if isinstance(pop.model, IFCurrExp) else "lif" if isinstance(pop.model, LIF) else "src"
            kinds[kind].append(pop)
        self.pops: dict[str, _Pop] = {}
        self._pool_size = {}
        offset = 0
        for kind, members in kinds.items():
            at = 0
            for pop in members:
                self.pops[pop.name] = _Pop(pop.name, kind, pop.size, slice(offset + at, offset + at + pop.size),
                                           slice(at, at + pop.size))
                at += pop.size
            self._pool_size[kind] = at
            offset += at
        self._n_total = offset
        order = sorted(self.pops.values(), key=lambda p: p.z.start)  # the spike vector's order
        self._pop_order = [p.name for p in order]
        self._ends = torch.tensor([p.z.stop - 1 for p in order], dtype=torch.int64, device=self.device)

    def _build_neurons(self, net: Network) -> None:
        batch, device, dtype = self.batch, self.device, self.dtype
        ifc = [p for p in net.populations if self.pops[p.name].kind == "ifc"]
        lif = [p for p in net.populations if self.pops[p.name].kind == "lif"]
        self._ifc = self._lif = None
        if ifc:
            self._ifc_params = tn.ifcurrexp_params([(p.model, p.size) for p in ifc], net.dt, dtype, device)
            v0 = torch.as_tensor(np.concatenate([initial_values(net, p) for p in ifc]), dtype=dtype, device=device)
            self._ifc = tn.ifcurrexp_init(v0.expand(batch, -1).clone())
        if lif:
            self._lif_params = tn.lif_params([(p.model, p.size) for p in lif], dtype, device)
            m0 = torch.as_tensor(np.concatenate([initial_values(net, p) for p in lif]), dtype=dtype, device=device)
            self._lif = tn.lif_init(m0.expand(batch, -1).clone())
        names = {"ifc": {"v": "v", "isyn_exc": "i_e", "isyn_inh": "i_i"}, "lif": {"mem": "mem"}}
        self._state_keys = [(name, var) for name, variables in net.recorded().items()
                            for var in variables if var != "spikes"]
        self._state_field = {(name, var): names[self.pops[name].kind][var] for name, var in self._state_keys}
        self._record_spikes = any("spikes" in v for v in net.recorded().values())

    def _build_projections(self, net: Network) -> None:
        self._static: list[_Static] = []
        self._plastic: list[_Plastic] = []
        max_delay = {"ifc": 0, "lif": 0}
        depth = 1
        for k, proj in enumerate(net.projections):
            pre, post = self.pops[proj.pre], self.pops[proj.post]
            syn = connect(net, proj)
            delay = arrival_steps(net, proj) - 1
            channel = 0 if proj.receptor == "excitatory" or post.kind == "lif" else 1
            factor = self._send_factor(net, proj)
            if not len(syn.i):
                continue  # a connector that drew no synapse sends nothing (its weights stay NaN)
            max_delay[post.kind] = max(max_delay[post.kind], delay)
            if isinstance(proj.synapse, STDP):
                plastic = self._plastic_projection(k, net, proj, syn, pre, post, delay, channel, factor)
                self._plastic.append(plastic)
                depth = max(depth, plastic.params.post_delay + 1, plastic.params.gate_delay + 1)
            else:
                # w * spike_scale per synapse, as Brian2 adds it (then signed for an LIF target)
                m = tsyn.synaptic_matrix(syn.i, syn.j, syn.w * factor, pre.size, post.size,
                                         one_to_one=isinstance(proj.connector, OneToOne),
                                         dtype=self.dtype, device=self.device)
                self._static.append(_Static(proj, pre, post, delay, channel, m))
        self._history_depth = depth
        self._rings = {kind: tsyn.delay_ring(max_delay[kind], self.batch, self._pool_size[kind],
                                             2 if kind == "ifc" else 1, self.dtype, self.device)
                       for kind in ("ifc", "lif") if self._pool_size[kind]}
        self._pending = {(kind, ch): set() for kind in self._rings for ch in range(len(self._rings[kind].buffers))}

    def _send_factor(self, net: Network, proj: Projection) -> float:
        """What one nA of weight adds to the target: spike_scale (IFCurrExp), +-1 (LIF)."""
        model = net.population(proj.post).model
        if isinstance(model, LIF):
            return 1.0 if proj.receptor == "excitatory" else -1.0
        c = ir_ifcurrexp_step(model, net.dt)
        return c.spike_scale_E if proj.receptor == "excitatory" else c.spike_scale_I

    def _plastic_projection(self, k: int, net: Network, proj: Projection, syn, pre: _Pop, post: _Pop,
                            delay: int, channel: int, factor: float) -> _Plastic:
        rule: STDP = proj.synapse
        pairs = syn.i * post.size + syn.j
        if len(np.unique(pairs)) != len(pairs):
            raise UnsupportedFeature(f"projections[{k}] ({proj.name})", "a plastic projection with two synapses "
                                     "on one (pre, post) pair", "torch",
                                     "list each pair once in from_list, or make the projection static")
        w0 = np.zeros((pre.size, post.size))
        w0[syn.i, syn.j] = syn.w
        mask = np.zeros((pre.size, post.size), dtype=bool)
        mask[syn.i, syn.j] = True
        send = None if mask.all() and factor == 1.0 else torch.as_tensor(mask * factor, dtype=self.dtype,
                                                                           device=self.device)
        params = ts.pair_rule_params(rule, net.dt, self.dtype, self.device)
        state = ts.pair_rule_init(torch.as_tensor(w0, dtype=self.dtype, device=self.device), self.batch,
                                  rule.gate is not None)
        gate = self.pops[rule.gate.population] if rule.gate is not None else None
        return _Plastic(proj, pre, post, delay, channel, params, state,
                        torch.as_tensor(mask, device=self.device), send, gate)

    def _source_events(self, net: Network, stimuli: dict[str, list[list[list[float]]]]) -> np.ndarray:
        """(trial, step, column in the source pool) of every SpikeSource spike, sorted by step."""
        parts = [np.zeros((0, 3), dtype=np.int64)]
        for pop in net.populations:
            if not isinstance(pop.model, SpikeSource):
                continue
            col0 = self.pops[pop.name].pool.start
            trials = stimuli.get(pop.name) or [pop.model.spike_times] * self.batch
            for b, spike_times in enumerate(trials):
                neurons, times = _flatten(spike_times)
                steps = np.rint(times / net.dt).astype(np.int64)  # round half to even, as round() does
                parts.append(np.stack([np.full(len(steps), b), steps, col0 + neurons], 1))
        events = np.concatenate(parts)
        return events[np.argsort(events[:, 1], kind="stable")]

    # -- running -------------------------------------------------------------

    def run(self, duration: float) -> Result | BatchResult:
        """Advance by ``duration`` ms; return everything recorded since t = 0 (a BatchResult when batch > 1)."""
        steps = duration / self.net.dt
        if steps < 0 or abs(steps - round(steps)) > 1e-9:
            raise ValueError(f"duration must be a whole number of steps of {self.net.dt} ms, got {duration}")
        start = time.perf_counter()
        k0, k1 = self._step, self._step + int(round(steps))
        with torch.no_grad():
            table = self._source_table(k0, k1)
            spikes, states = [], {key: [] for key in self._state_keys}
            for k in range(k0, k1):
                z = self._advance(k, table[k - k0])
                if self._record_spikes:
                    spikes.append(z)
                for key in self._state_keys:
                    states[key].append(self._state_value(key))
            if spikes:
                self._spike_rec.append(torch.stack(spikes))
            for key, values in states.items():
                if values:
                    self._state_rec[key].append(torch.stack(values))
        self._step = k1
        self._t += duration
        result = self._collect()
        result.wall_s = time.perf_counter() - start
        return result

    def _source_table(self, k0: int, k1: int) -> torch.Tensor:
        """Spikes (steps, B, n_sources) of every source population in steps [k0, k1)."""
        table = np.zeros((k1 - k0, self.batch, self._pool_size["src"]), dtype=bool)
        ev = self._sources
        sel = ev[(ev[:, 1] >= k0) & (ev[:, 1] < k1)]
        table[sel[:, 1] - k0, sel[:, 0], sel[:, 2]] = True
        for name, rng in self._poisson_rng.items():
            pop = self.net.population(name)
            idx, times = poisson_times(pop.model, pop.size, self.net.dt, k0 * self.net.dt, k1 * self.net.dt, rng)
            steps = np.rint(times / self.net.dt).astype(np.int64)
            table[steps - k0, :, self.pops[name].pool.start + idx] = True  # every trial: the same draws
        return torch.as_tensor(table, device=self.device)

    def _advance(self, t: int, sources: torch.Tensor) -> torch.Tensor:
        """Step ``t``: neurons, then plasticity and transmission, then deliveries; the step's spikes (B, N)."""
        parts = []
        if self._ifc is not None:
            z_ifc, self._ifc = tn.ifcurrexp_step(None, self._ifc, self._ifc_params)
            parts.append(z_ifc)
        if self._lif is not None:
            z_lif, self._lif = tn.lif_step(None, self._lif, self._lif_params)
            parts.append(z_lif)
        parts.append(sources)
        z = torch.cat(parts, 1) if len(parts) > 1 else parts[0]
        # one host synchronisation: which populations fired (work is skipped for the others)
        fired = z.any(0).cumsum(0)[self._ends].tolist()
        active = {name: n > (fired[k - 1] if k else 0) for k, (name, n) in enumerate(zip(self._pop_order, fired))}
        self._history.append((z, active))
        for p in self._plastic:
            self._plastic_step(p, t, z, active)
        for s in self._static:
            if active[s.pre.name]:
                self._send(s.post, s.channel, t, s.delay, tsyn.product(z[:, s.pre.z], s.matrix))
        self._deliver(t)
        return z

    def _past(self, steps_ago: int) -> tuple[torch.Tensor, dict[str, bool]] | None:
        return self._history[-1 - steps_ago] if steps_ago < len(self._history) else None

    def _plastic_step(self, p: _Plastic, t: int, z: torch.Tensor, active: dict[str, bool]) -> None:
        par = p.params
        if p.gate is not None:
            past = self._past(par.gate_delay)
            if past is not None and past[1][p.gate.name]:
                p.state = ts.open_gate(p.state, past[0][:, p.gate.z].any(1), t)
        pre_fired = active[p.pre.name]
        past = self._past(par.post_delay)
        post_fired = past is not None and past[1][p.post.name]
        if pre_fired or post_fired:
            inside = ts.episode_open(p.state, par, t)[:, None] if par.reset_traces else None
            sides = ("post", "pre") if par.post_first else ("pre", "post")
            for side in sides:
                if side == "pre" and pre_fired:
                    spikes = z[:, p.pre.z]
                elif side == "post" and post_fired:
                    spikes = past[0][:, p.post.z]
                else:
                    continue
                if inside is not None:
                    spikes = spikes & inside  # outside an episode a reset-traces rule changes nothing
                b, n = spikes.nonzero(as_tuple=True)
                (ts.pre_events if side == "pre" else ts.post_events)(p.state, par, b, n, t)
                p.events[side] += len(b)
        if t % _RELAYOUT_EVERY == _RELAYOUT_EVERY - 1:
            # the side with more events gets contiguous synapses (a copy; the arithmetic is the same)
            major = "post" if p.state.post_major else "pre"
            minor = "pre" if major == "post" else "post"
            if p.events[minor] > 2 * p.events[major]:
                p.state = ts.relayout(p.state)
            p.events = {"pre": 0, "post": 0}
        if pre_fired:
            b, i = z[:, p.pre.z].nonzero(as_tuple=True)
            rows = p.state.w[b, i]  # the weights at the end of the sending step
            if p.send is not None:
                rows = rows * p.send[i]
            self._send(p.post, p.channel, t, p.delay, tsyn.add_rows(self.batch, b, rows))

    def _send(self, post: _Pop, channel: int, t: int, delay: int, value: torch.Tensor) -> None:
        tsyn.ring_send(self._rings[post.kind], t, delay, channel, post.pool, value)
        self._pending[(post.kind, channel)].add(t + delay)

    def _deliver(self, t: int) -> None:
        for (kind, channel), due in self._pending.items():
            if t not in due:
                continue
            due.discard(t)
            ring = self._rings[kind]
            if kind == "ifc":
                field = "i_e" if channel == 0 else "i_i"
                self._ifc = self._ifc._replace(**{field: tsyn.ring_deliver(ring, t, channel,
                                                                           getattr(self._ifc, field))})
            else:
                self._lif = self._lif._replace(x=tsyn.ring_deliver(ring, t, channel, self._lif.x))

    def _state_value(self, key: tuple[str, str]) -> torch.Tensor:
        pop = self.pops[key[0]]
        state = self._ifc if pop.kind == "ifc" else self._lif
        return getattr(state, self._state_field[key])[:, pop.pool]

    # -- results -------------------------------------------------------------

    def _collect(self) -> Result | BatchResult:
        net, dt = self.net, self.net.dt
        trials = [Result(t_stop=self._t, dt=dt) for _ in range(self.batch)]
        if self._record_spikes:
            rec = torch.cat(self._spike_rec) if self._spike_rec else torch.zeros((0, self.batch, self._n_total),
                                                                                 dtype=torch.bool)
            step, trial, col = (x.cpu().numpy() for x in rec.nonzero(as_tuple=True))  # time order
            names = self._pop_order
            starts = np.asarray([self.pops[name].z.start for name in names])
            pop = np.searchsorted(starts, col, side="right") - 1
            order = np.argsort(trial * len(names) + pop, kind="stable")  # by trial, population, then time
            bounds = np.searchsorted((trial * len(names) + pop)[order], np.arange(self.batch * len(names) + 1))
            for name, variables in net.recorded().items():
                if "spikes" not in variables:
                    continue
                k, z = names.index(name), self.pops[name].z
                for b, result in enumerate(trials):
                    sel = order[bounds[b * len(names) + k]:bounds[b * len(names) + k + 1]]
                    result.spikes[name] = SpikeTrains(z.stop - z.start, (col[sel] - z.start).astype(np.int64),
                                                      step[sel].astype(float) * dt)
        for (name, var), parts in self._state_rec.items():
            values = torch.cat(parts).cpu().numpy() if parts else np.zeros((0, self.batch, self.pops[name].size))
            for b, result in enumerate(trials):
                result.state.setdefault(name, {})[var] = values[:, b, :].astype(float)
        for p in self._plastic:
            w = self._dense_plastic(p)
            for b, result in enumerate(trials):
                result.weights[p.proj.name] = w[b]
        for proj in net.projections:  # plastic projections whose connector drew no synapse
            if isinstance(proj.synapse, STDP) and proj.name not in trials[0].weights:
                for result in trials:
                    result.weights[proj.name] = self._nan_matrix(proj)
        return trials[0] if self.batch == 1 else BatchResult(trials)

    def _nan_matrix(self, proj: Projection) -> np.ndarray:
        return np.full((self.pops[proj.pre].size, self.pops[proj.post].size), np.nan)

    def _dense_plastic(self, p: _Plastic) -> np.ndarray:
        w = p.state.w.detach().cpu().numpy().astype(float)
        return np.where(p.mask.cpu().numpy(), w, np.nan)

    def weights(self, projection: str) -> np.ndarray:
        """Current weights (nA) of any projection: (n_pre, n_post), NaN = no synapse; (B, n_pre, n_post)
        when batch > 1."""
        proj = self.net.projection(projection)
        plastic = next((p for p in self._plastic if p.proj.name == projection), None)
        if plastic is not None:
            w = self._dense_plastic(plastic)
        else:
            w = self._nan_matrix(proj)
            syn = connect(self.net, proj)
            w[syn.i, syn.j] = syn.w
            w = np.broadcast_to(w, (self.batch, *w.shape)).copy()
        return w[0] if self.batch == 1 else w

    def weight_tensor(self, projection: str) -> torch.Tensor:
        """The live weight tensor of a plastic projection, (B, n_pre, n_post) nA, 0 where no synapse
        (entries outside the connector are never sent). A training loop can wrap it as a parameter."""
        plastic = next((p for p in self._plastic if p.proj.name == projection), None)
        if plastic is None:
            raise KeyError(f"'{projection}' is not a plastic projection with synapses (plastic: "
                           f"{', '.join(p.proj.name for p in self._plastic) or 'none'})")
        return plastic.state.w


def _checked_stimuli(net: Network, stimuli: dict[str, Any], batch: int) -> dict[str, list[list[list[float]]]]:
    """``stimuli`` after checking it against the network and ``batch``: every problem at once."""
    problems = []
    sources = [p.name for p in net.populations if isinstance(p.model, SpikeSource)]
    out = {}
    for name, trials in stimuli.items():
        path = f"stimuli[{name!r}]"
        if name not in sources:
            problems.append(f"{path}: not a SpikeSource population (SpikeSource populations: "
                            f"{', '.join(sources) or 'none'})")
            continue
        if not isinstance(trials, (list, tuple)) or len(trials) != batch:
            n = len(trials) if isinstance(trials, (list, tuple)) else type(trials).__name__
            problems.append(f"{path}: needs one spike_times per trial (batch={batch}), got {n}")
            continue
        size = net.population(name).size
        for b, spike_times in enumerate(trials):
            if spike_times and len(spike_times) != size:
                problems.append(f"{path}[{b}]: needs one list of times per neuron ({size}), got {len(spike_times)}")
                continue
            neurons, times = _flatten(spike_times)
            steps = np.rint(times / net.dt).astype(np.int64)
            negative = set(neurons[times < 0].tolist())
            key = neurons * (int(np.abs(steps).max(initial=0)) * 2 + 3) + steps
            unique, counts = np.unique(key, return_counts=True)
            twice = set(neurons[np.isin(key, unique[counts > 1])].tolist())
            for n in sorted(negative | twice):
                if n in negative:
                    problems.append(f"{path}[{b}][{n}]: times must be >= 0 ms")
                if n in twice:
                    problems.append(f"{path}[{b}][{n}]: two spikes fall in one step of {net.dt} ms; "
                                    f"a neuron spikes at most once per step")
        out[name] = [list(s) for s in trials]
    if problems:
        raise DescriptionError(problems, "compile(stimuli=...)")
    return out


def _flatten(spike_times: list[list[float]]) -> tuple[np.ndarray, np.ndarray]:
    """The neuron index and the time (ms) of every spike of one ``spike_times`` (one list per neuron)."""
    counts = [len(times) for times in spike_times]
    neurons = np.repeat(np.arange(len(spike_times), dtype=np.int64), counts)
    return neurons, np.fromiter(itertools.chain.from_iterable(spike_times), dtype=float, count=sum(counts))
