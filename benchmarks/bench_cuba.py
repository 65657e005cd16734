"""spikemem against hand-written plain programs of the CUBA network (Vogels & Abbott 2005).

One network, ``models/cuba.yaml`` (4,000 IF_curr_exp cells, p = 0.02, delay 0.1 ms in
PyNN's meaning, uniform v_init), 1,000 ms on Brian2's numpy target, five programs side
by side in one process:

- ``spikemem``: ``spikemem.load`` + ``spikemem.compile(backend="brian2", target="numpy")``
  (build), then ``sim.run(1000)`` (run);
- ``brian2_idiomatic``: what a Brian2 user writes after ``examples/CUBA.py``: one
  NeuronGroup with the ODEs in volts (``method="exact"``, ``refractory=5*ms``,
  threshold ``v > Vt``), ``Synapses(on_pre="ge += we")`` with ``delay=0.1*ms``;
- ``brian2_fast``: the fastest exact per-step plain Brian2 program found: one
  NeuronGroup, the exact per-step linear map of (v, I_E, I_I) in a ``run_regularly``
  with the constants in the namespace, refractoriness as NEST counts it, two
  ``Synapses`` with a homogeneous weight;
- ``brian2_fast_per_population``: the same code in spikemem's layout, one NeuronGroup
  per population and one Synapses per projection (2 + 4 instead of 1 + 2): it separates
  what the layout costs from what spikemem itself costs;
- ``pynn_nest``: plain pyNN.nest (``spike_precision="on_grid"``, so NEST's grid model
  ``iaf_psc_exp``), two populations and four ``FromListConnector`` projections.

Every program gets the same network: the plain ones are given the synapse lists and
initial potentials that spikemem draws from the description's seed (outside their
timed build). Spikes are compared event for event as (step, cell); NEST stamps a
spike at the end of its step, so its steps are one less than its times / dt.

Same semantics (should be identical): spikemem, both brian2_fast programs and pynn_nest
integrate the same exact per-step map (the brian2_fast programs with spikemem's
arithmetic to the last bit; NEST with its own ordering of the same operations, equal
to about 1e-14 mV), fire on v >= v_thresh and hold v for 50 steps after a spike. brian2_idiomatic differs: Brian2's
``refractory=5*ms`` counts the spike step itself (49 held steps), and its exact
solver rounds differently; in this chaotic network both make the spikes diverge.

Timing: one untimed warm-up round, then ``--repeats`` rounds (the order rotates each
round); best of the rounds per program. ``build_s`` and ``run_s`` are separate.

    .venv/bin/python benchmarks/bench_cuba.py                  # full run (~4 min on 2 cores)
    .venv/bin/python benchmarks/bench_cuba.py --profile        # cProfile of one spikemem run

Writes JSON (default benchmarks/results/bench_cuba.json).
"""
from __future__ import annotations

import argparse
import cProfile
import datetime
import importlib.metadata
import io
import itertools
import logging
import math
import os
import platform
import pstats
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

import brian2 as b2  # noqa: E402
import numpy as np  # noqa: E402

from machine import checkout, write_report  # noqa: E402

import spikemem  # noqa: E402
from spikemem.ir.connectivity import connect, initial_values  # noqa: E402
from spikemem.ir.network import Network  # noqa: E402

MODEL = ROOT / "models" / "cuba.yaml"
PROGRAMS = ["spikemem", "brian2_fast", "brian2_fast_per_population", "brian2_idiomatic", "pynn_nest"]
#: pairs that integrate the same semantics and should give identical spikes
SAME_SEMANTICS = {frozenset(p) for p in itertools.combinations(
    ["spikemem", "brian2_fast", "brian2_fast_per_population", "pynn_nest"], 2)}


@dataclass
class CubaArrays:
    """The network as explicit arrays (global cell index: exc 0..n_exc-1, then inh)."""
    n_exc: int
    n_inh: int
    v0: np.ndarray                                    #: mV, per cell
    pre: dict[str, np.ndarray] = field(default_factory=dict)   #: per projection, global indices
    post: dict[str, np.ndarray] = field(default_factory=dict)
    local: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  #: population indices
    weight: dict[str, float] = field(default_factory=dict)  #: nA, >= 0
    receptor: dict[str, str] = field(default_factory=dict)
    ends: dict[str, tuple[str, str]] = field(default_factory=dict)  #: (pre, post) population names


def arrays(net: Network) -> CubaArrays:
    n_exc, n_inh = net.population("exc").size, net.population("inh").size
    offset = {"exc": 0, "inh": n_exc}
    out = CubaArrays(n_exc, n_inh, np.concatenate([initial_values(net, net.population(p)) for p in ("exc", "inh")]))
    for proj in net.projections:
        syn = connect(net, proj)
        out.local[proj.name] = (syn.i, syn.j)
        out.pre[proj.name], out.post[proj.name] = syn.i + offset[proj.pre], syn.j + offset[proj.post]
        out.weight[proj.name], out.receptor[proj.name] = float(proj.weight), proj.receptor
        out.ends[proj.name] = (proj.pre, proj.post)
    return out


@dataclass
class Timed:
    build_s: float
    run_s: float
    run_cpu_s: float
    events: set[tuple[int, int]]
    extra: dict = field(default_factory=dict)


class _Clock:
    def __enter__(self):
        self.t, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.t, time.process_time() - self.cpu
        return False


def _objects_per_step(network) -> int:
    """How many Brian2 objects the network runs in every step (each costs Python overhead on numpy)."""
    return sum(1 for obj in network.sorted_objects if obj.active)


def _b2_events(mon, dt: float, offset: int = 0) -> set[tuple[int, int]]:
    steps = np.round(np.asarray(mon.t / b2.ms) / dt).astype(int)
    return set(zip(steps.tolist(), (np.asarray(mon.i[:]) + offset).tolist()))


# -- the programs -------------------------------------------------------------------------------------------

def run_spikemem(duration: float, a: CubaArrays, dt: float) -> Timed:
    with _Clock() as build:
        net = spikemem.load(MODEL)
        sim = spikemem.compile(net, backend="brian2", target="numpy")
    with _Clock() as run:
        result = sim.run(duration)
    events = {(int(round(t / dt)), int(i) + off) for name, off in (("exc", 0), ("inh", a.n_exc))
              for i, t in zip(result.spikes[name].indices.tolist(), result.spikes[name].times.tolist())}
    return Timed(build.wall, run.wall, run.cpu, events, {"objects_per_step": _objects_per_step(sim._network)})


def _cell(net: Network) -> dict[str, float]:
    m = net.population("exc").model
    return {k: getattr(m, k) for k in ("cm", "tau_m", "tau_syn_E", "tau_syn_I", "v_rest", "v_reset", "v_thresh",
                                       "tau_refrac", "i_offset")}


def run_brian2_idiomatic(duration: float, a: CubaArrays, dt: float, cell: dict) -> Timed:
    """A Brian2 user's CUBA: voltages (ge, gi = R * I), Brian2's exact solver and refractoriness."""
    r_mohm = cell["tau_m"] / cell["cm"]
    ns = {"taum": cell["tau_m"] * b2.ms, "taue": cell["tau_syn_E"] * b2.ms, "taui": cell["tau_syn_I"] * b2.ms,
          "Vt": cell["v_thresh"] * b2.mV, "Vr": cell["v_reset"] * b2.mV, "El": cell["v_rest"] * b2.mV,
          "we": a.weight["e2e"] * r_mohm * b2.mV, "wi": -a.weight["i2e"] * r_mohm * b2.mV}
    eqs = """
    dv/dt  = (ge + gi - (v - El)) / taum : volt (unless refractory)
    dge/dt = -ge / taue : volt
    dgi/dt = -gi / taui : volt
    """
    with _Clock() as build:
        clock = b2.Clock(dt * b2.ms, name="clock_idiomatic")
        P = b2.NeuronGroup(a.n_exc + a.n_inh, eqs, threshold="v > Vt", reset="v = Vr",
                           refractory=cell["tau_refrac"] * b2.ms, method="exact", clock=clock, namespace=ns)
        P.v = a.v0 * b2.mV
        Ce = b2.Synapses(P, P, on_pre="ge += we", delay=0.1 * b2.ms, clock=clock, namespace=ns)
        Ce.connect(i=np.concatenate([a.pre["e2e"], a.pre["e2i"]]), j=np.concatenate([a.post["e2e"], a.post["e2i"]]))
        Ci = b2.Synapses(P, P, on_pre="gi += wi", delay=0.1 * b2.ms, clock=clock, namespace=ns)
        Ci.connect(i=np.concatenate([a.pre["i2e"], a.pre["i2i"]]), j=np.concatenate([a.post["i2e"], a.post["i2i"]]))
        mon = b2.SpikeMonitor(P)
        network = b2.Network(P, Ce, Ci, mon)
    with _Clock() as run:
        network.run(duration * b2.ms)
    return Timed(build.wall, run.wall, run.cpu, _b2_events(mon, dt), {"objects_per_step": _objects_per_step(network)})


_FAST_MODEL = """
v : 1
I_E : 1
I_I : 1
ref_until : 1
"""
# The exact per-step map of IF_curr_exp (the propagators of NEST's iaf_psc_exp), v held while
# refractory: t_in_timesteps > ref_until, ref_until = spike step + 50 (NEST's count)
_FAST_STEP = """
active = int(t_in_timesteps > ref_until)
v = active * (v_inf + (v - v_inf) * p22 + p21_E * I_E - p21_I * I_I) + (1 - active) * v
I_E = I_E * p11_E
I_I = I_I * p11_I
"""


def propagators(cell: dict, dt: float) -> dict[str, float]:
    """Exact one-step propagators of IF_curr_exp (mV, nA, nF, ms; Rotter & Diesmann 1999, as NEST's
    iaf_psc_exp uses them), written out here rather than taken from spikemem."""
    tau_m, cm = cell["tau_m"], cell["cm"]
    p22 = math.exp(-dt / tau_m)
    out = {"p22": p22, "v_inf": cell["v_rest"] + cell["i_offset"] * tau_m / cm,
           "v_thresh": cell["v_thresh"], "v_reset": cell["v_reset"],
           "ref_steps": float(round(cell["tau_refrac"] / dt))}
    for x in ("E", "I"):
        tau_s = cell[f"tau_syn_{x}"]
        p11 = math.exp(-dt / tau_s)
        out[f"p11_{x}"] = p11
        out[f"p21_{x}"] = tau_s * tau_m / (cm * (tau_m - tau_s)) * (p22 - p11)  # mV per nA after one step
    return out


def run_brian2_fast(duration: float, a: CubaArrays, dt: float, cell: dict, per_population: bool = False) -> Timed:
    """The per-step map in one run_regularly per group, constants in the namespace, homogeneous weights.

    ``per_population=False``: one NeuronGroup of all cells, one Synapses per receptor (the
    fastest layout); ``True``: spikemem's layout, one NeuronGroup per population and one
    Synapses per projection, with the same code.
    """
    ns = {k: float(v) for k, v in propagators(cell, dt).items()}
    ns.update(we=a.weight["e2e"], wi=a.weight["i2e"])
    with _Clock() as build:
        clock = b2.Clock(dt * b2.ms, name="clock_fast")

        def group(size: int, v0: np.ndarray):
            g = b2.NeuronGroup(size, _FAST_MODEL, threshold="v >= v_thresh",
                               reset="v = v_reset\nref_until = t_in_timesteps + ref_steps", clock=clock, namespace=ns)
            g.v, g.ref_until = v0, -1
            g.run_regularly(_FAST_STEP, clock=clock, when="groups")
            return g

        def synapses(pre, post, receptor: str, i: np.ndarray, j: np.ndarray):
            code = "I_E_post += we" if receptor == "excitatory" else "I_I_post += wi"
            s = b2.Synapses(pre, post, on_pre=code, delay=dt * b2.ms, clock=clock, namespace=ns)
            s.connect(i=i, j=j)
            return s
        if per_population:
            groups = {"exc": group(a.n_exc, a.v0[:a.n_exc]), "inh": group(a.n_inh, a.v0[a.n_exc:])}
            syns = [synapses(groups[pre], groups[post], a.receptor[name], *a.local[name])
                    for name, (pre, post) in a.ends.items()]
            monitors = {off: b2.SpikeMonitor(g) for off, g in ((0, groups["exc"]), (a.n_exc, groups["inh"]))}
        else:
            P = group(a.n_exc + a.n_inh, a.v0)
            groups = {"all": P}
            syns = [synapses(P, P, receptor, np.concatenate([a.pre[x] for x in names]),
                             np.concatenate([a.post[x] for x in names]))
                    for receptor, names in (("excitatory", ("e2e", "e2i")), ("inhibitory", ("i2e", "i2i")))]
            monitors = {0: b2.SpikeMonitor(P)}
        network = b2.Network(*groups.values(), *syns, *monitors.values())
    with _Clock() as run:
        network.run(duration * b2.ms)
    events = set().union(*(_b2_events(m, dt, off) for off, m in monitors.items()))
    return Timed(build.wall, run.wall, run.cpu, events, {"objects_per_step": _objects_per_step(network)})


def run_pynn_nest(duration: float, a: CubaArrays, dt: float, cell: dict) -> Timed:
    """Plain pyNN.nest from explicit lists; NEST's spike stamps (end of step) turned into steps."""
    import pyNN.nest as sim

    with _Clock() as build:
        sim.setup(timestep=dt, min_delay=dt, spike_precision="on_grid")
        pops = {"exc": sim.Population(a.n_exc, sim.IF_curr_exp(**cell), initial_values={"v": a.v0[:a.n_exc]}),
                "inh": sim.Population(a.n_inh, sim.IF_curr_exp(**cell), initial_values={"v": a.v0[a.n_exc:]})}
        for name, (i, j) in a.local.items():
            pre, post = a.ends[name]
            sign = -1.0 if a.receptor[name] == "inhibitory" else 1.0
            sim.Projection(pops[pre], pops[post], sim.FromListConnector(np.column_stack([i, j]).tolist()),
                           sim.StaticSynapse(weight=sign * a.weight[name], delay=dt), receptor_type=a.receptor[name])
        for pop in pops.values():
            pop.record("spikes")
    with _Clock() as run:
        sim.run(duration)
    start = time.perf_counter()
    events = set()
    for name, off in (("exc", 0), ("inh", a.n_exc)):
        for k, train in enumerate(pops[name].get_data().segments[0].spiketrains):
            events.update((int(round(float(t) / dt)) - 1, k + off) for t in train.magnitude)
    read = time.perf_counter() - start
    sim.end()
    return Timed(build.wall, run.wall, run.cpu, events, {"get_data_s": round(read, 4)})


# -- the benchmark ------------------------------------------------------------------------------------------

def differing(a: set, b: set) -> dict:
    diff = a ^ b
    return {"differing_events": len(diff), "first_differing_step": min(diff)[0] if diff else None}


def profile_spikemem(duration: float, top: int) -> str:
    net = spikemem.load(MODEL)
    sim = spikemem.compile(net, backend="brian2", target="numpy")
    prof = cProfile.Profile()
    prof.enable()
    sim.run(duration)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def machine_info() -> dict:
    versions = {}
    for dist in ("brian2", "nest-simulator", "pyNN", "numpy"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
            "versions": versions, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            **checkout(), "load_average_start": list(os.getloadavg())}


def _quiet() -> None:
    """NEST's banner and PyNN's notes stay off the report (stderr keeps real errors)."""
    warnings.filterwarnings("ignore")
    logging.getLogger("PyNN").setLevel(logging.ERROR)
    os.environ.setdefault("PYNEST_QUIET", "1")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=1000.0, help="simulated ms (default 1000)")
    p.add_argument("--repeats", type=int, default=3, help="timed rounds after the warm-up (best is reported)")
    p.add_argument("--programs", default=",".join(PROGRAMS), help=f"comma-separated subset of {','.join(PROGRAMS)}")
    p.add_argument("--profile", action="store_true", help="print a cProfile of one spikemem run and exit")
    p.add_argument("--out", default=str(HERE / "results" / "bench_cuba.json"))
    args = p.parse_args(argv)
    _quiet()
    b2.prefs.codegen.target = "numpy"
    b2.prefs.logging.file_log = False
    if args.profile:
        print(profile_spikemem(args.duration, 30))
        return 0
    programs = [x.strip() for x in args.programs.split(",") if x.strip()]
    if set(programs) - set(PROGRAMS):
        p.error(f"unknown program(s): {sorted(set(programs) - set(PROGRAMS))}")

    net = spikemem.load(MODEL)
    a, cell, dt = arrays(net), _cell(net), net.dt
    run = {"spikemem": lambda: run_spikemem(args.duration, a, dt),
           "brian2_idiomatic": lambda: run_brian2_idiomatic(args.duration, a, dt, cell),
           "brian2_fast": lambda: run_brian2_fast(args.duration, a, dt, cell),
           "brian2_fast_per_population": lambda: run_brian2_fast(args.duration, a, dt, cell, per_population=True),
           "pynn_nest": lambda: run_pynn_nest(args.duration, a, dt, cell)}
    start = time.perf_counter()
    report = {"benchmark": "CUBA (Vogels & Abbott 2005): spikemem vs plain Brian2 and plain PyNN-NEST",
              "machine": machine_info(),
              "setup": {"model": "models/cuba.yaml", "cells": a.n_exc + a.n_inh,
                        "synapses": int(sum(len(x) for x in a.pre.values())), "dt_ms": dt,
                        "duration_ms": args.duration, "brian2_target": "numpy", "repeats": args.repeats,
                        "timed": "build_s: description/objects to a runnable network (spikemem: load + compile; "
                                 "plain: objects from the given arrays); run_s: the run call (spikemem: "
                                 "sim.run, results included; Brian2: Network.run; NEST: sim.run, get_data "
                                 "apart); best of the rounds after one warm-up round"}}
    rounds: dict[str, list[Timed]] = {k: [] for k in programs}
    for r in range(args.repeats + 1):
        order = programs[r % len(programs):] + programs[:r % len(programs)]
        for who in order:
            t = run[who]()
            if r:
                rounds[who].append(t)
            print(f"round {r} {who:<17} build {t.build_s:7.3f} s  run {t.run_s:7.3f} s  spikes {len(t.events)}",
                  file=sys.stderr)
    best = {who: {"build_s": round(min(t.build_s for t in ts), 4), "run_s": round(min(t.run_s for t in ts), 4),
                  "run_cpu_s": round(min(t.run_cpu_s for t in ts), 4),
                  "build_runs_s": [round(t.build_s, 4) for t in ts], "run_runs_s": [round(t.run_s, 4) for t in ts],
                  "spikes": len(ts[-1].events),
                  "rate_hz": round(len(ts[-1].events) / (a.n_exc + a.n_inh) / (args.duration / 1000), 3),
                  **ts[-1].extra}
            for who, ts in rounds.items()}
    last = {who: ts[-1].events for who, ts in rounds.items()}
    consistent = {who: all(t.events == ts[0].events for t in ts) for who, ts in rounds.items()}
    pairs = {f"{x} vs {y}": {**differing(last[x], last[y]), "same_semantics": frozenset((x, y)) in SAME_SEMANTICS}
             for x, y in itertools.combinations(programs, 2)}
    plain_b2 = [w for w in ("brian2_fast", "brian2_idiomatic") if w in best]
    fastest = min(plain_b2, key=lambda w: best[w]["run_s"]) if plain_b2 else None
    ratios = {}
    if "spikemem" in best and fastest:
        ratios = {"fastest_plain_brian2": fastest,
                  "run_spikemem_over_fastest_plain": round(best["spikemem"]["run_s"] / best[fastest]["run_s"], 4),
                  "run_cpu_spikemem_over_fastest_plain": round(
                      best["spikemem"]["run_cpu_s"] / best[fastest]["run_cpu_s"], 4),
                  **{f"run_spikemem_over_{w}": round(best["spikemem"]["run_s"] / best[w]["run_s"], 4)
                     for w in best if w != "spikemem"},
                  **{f"build_spikemem_over_{w}": round(best["spikemem"]["build_s"] / best[w]["build_s"], 4)
                     for w in best if w != "spikemem"}}
    report.update(programs=best, spikes_same_every_round=consistent, pairs=pairs, ratios=ratios)
    out = write_report(report, args.out, start)

    print(f"{'program':<17} {'build_s':>8} {'run_s':>8} {'spikes':>7}")
    for who, row in best.items():
        print(f"{who:<17} {row['build_s']:>8.3f} {row['run_s']:>8.3f} {row['spikes']:>7}")
    for pair, d in pairs.items():
        print(f"{pair:<40} differing {d['differing_events']:>6}  same semantics {d['same_semantics']}")
    if ratios:
        print(f"spikemem run / {fastest} run = {ratios['run_spikemem_over_fastest_plain']:.3f}")
    print(f"wrote {out} ({report['benchmark_wall_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
