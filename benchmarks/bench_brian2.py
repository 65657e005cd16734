"""spikemem's overhead over a hand-written plain Brian2 program of the same CA3 memory.

For each size and Brian2 target, the same random operation sequence
(``random_ops(n, m, n_ops=100, seed=0)``, default variant) is played through
spikemem (``spikemem.tasks.cam.run_ops``: model file -> IR -> Brian2 -> decoded
outputs) and through ``plain_brian2_ca3.simulate`` (input encoding -> Brian2 ->
decoded outputs), alternating in one process. numpy/cython: one warm-up run each
(absorbs cython compilation), then the best of ``--repeats`` runs. cpp_standalone
(these rows): one build+run each, in fresh directories. Every run pair is checked
for identical spikes (the default variant's populations shifted back by the lags of
its re-timing, see models/ca3_cam.yaml).

``--standalone``: cpp_standalone for users who repeat runs, 1,000 operations
(8 s simulated) per size. spikemem cold (compiling into an empty program cache),
then warm (the cache holds the program; other sequences, best of ``--repeats``, in
process and as a ``spikemem cam`` command); the plain program cold (fresh folder),
then run again in its folder (Brian2's own behaviour: it generates the code again
and ``make`` recompiles what changed) with the same and with a new sequence.

Then the random-sequence scores (right/total per op kind) of the default variant
under both integration schemes and of the published variant, for 5x10, 9x17,
24x24 and 128x128, seeds 0-2, 8 ms spacing (each run also checked against the
plain program).

    .venv/bin/python benchmarks/bench_brian2.py            # full run (~25 min on 2 cores, warm cython cache)
    .venv/bin/python benchmarks/bench_brian2.py --quick    # 5x10, numpy: smoke run
    .venv/bin/python benchmarks/bench_brian2.py --standalone   # cold/warm cpp_standalone (~25 min on 2 cores)

Writes JSON (default benchmarks/results/bench_brian2.json).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

import brian2 as b2  # noqa: E402
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from machine import checkout, run_cmd, write_report  # noqa: E402

import plain_brian2_ca3 as plain  # noqa: E402
from spikemem.tasks import cam  # noqa: E402

CYTHON_CACHE = ROOT / ".venv" / "brian2_cython_cache"
SIZES = [(5, 10), (32, 32), (128, 128)]
TARGETS = ["numpy", "cython", "cpp_standalone"]
SCORE_SIZES = [(5, 10), (9, 17), (24, 24), (128, 128)]
SCORE_SEEDS = [0, 1, 2]
SCORE_CONFIGS = [("default", "exact"), ("default", "fixed_step"), ("published", "fixed_step")]
N_OPS, SPACING = 100, 8
STANDALONE_OPS = 1000
#: ms each population of the default variant fires after the plain (un-re-timed) program
#: (phi in the header of models/ca3_cam.yaml); the published variant is not re-timed
LAGS = {"INcue": 0, "INcont": 0, "INlearn": 0, "CA3cueCueRecall": 1, "CA3contCueRecall": 2, "CA3contCondInt": 3,
        "CA3contCond": 4, "CA3contContRecall": 5, "CA3cueContRecall": 6, "CA3MergeCont": 6, "CA3MergeCue": 7,
        "OUTcont": 7, "OUTcue": 8}


class Clocked:
    """Wall time, CPU time (this process + finished children: the C++ compilers) and the
    time spent inside ``brian2.Network.run`` (code generation + simulation loop) of a block."""
    _in_run = 0.0

    def __enter__(self):
        Clocked._in_run = 0.0
        self._t, self._cpu = time.perf_counter(), _cpu_now()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._t
        self.cpu = _cpu_now() - self._cpu
        self.network_run = Clocked._in_run
        return False


def _cpu_now() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _timed_network_run():
    original = b2.Network.run
    if getattr(original, "_bench_wrapped", False):
        return

    def run(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            Clocked._in_run += time.perf_counter() - start
    run._bench_wrapped = True
    b2.Network.run = run


def events(indices, times) -> set[tuple[int, int]]:
    return {(int(round(t)), int(i)) for i, t in zip(np.asarray(indices).tolist(), np.asarray(times).tolist())}


def run_spikemem(ops, n, m, target, variant="default", integration=None, workdir=None, cache=None):
    """(Clocked timings, CamRun, {population: events}) of one spikemem run, the events moved onto the
    plain program's timing (the default variant's lags taken off, cut at the plain program's end).

    cpp_standalone: into the program cache ``cache``, or a fresh (empty) one in ``workdir``."""
    options = {"target": target}
    if target == "cpp_standalone":
        options["standalone_dir"] = cache or tempfile.mkdtemp(prefix="spikemem_", dir=workdir)
    with Clocked() as clk:
        run = cam.run_ops(ops, n, m, variant=variant, integration=integration, **options)
    end = ops[-1].t + 10  # the plain program's duration
    lags = LAGS if variant == "default" else {}
    spikes = {p: {(t - lags.get(p, 0), i) for t, i in events(s.indices, s.times) if t - lags.get(p, 0) < end}
              for p, s in run.result.spikes.items()}
    clk.binary_run = _LAST_PROGRAM.pop("run_s", None)
    clk.standalone_build = _LAST_PROGRAM.pop("build", None)
    return clk, run, spikes


_LAST_PROGRAM: dict = {}


def _record_standalone_runs():
    """Keep what each spikemem cpp_standalone run did (compiled or reused, the program's loop time)."""
    from spikemem.backends.brian2_backend import Brian2Simulation

    original = Brian2Simulation._run_standalone
    if getattr(original, "_bench_wrapped", False):
        return

    def run(self, duration):
        try:
            return original(self, duration)
        finally:
            _LAST_PROGRAM.update(run_s=self.standalone_run_s, build=self.standalone_build)
    run._bench_wrapped = True
    Brian2Simulation._run_standalone = run


def run_plain(ops, n, m, target, variant="default", integration=None, workdir=None):
    """(Clocked timings, decoded outputs, {population: events}) of one run of the plain program.

    Timed: input encoding, building and running the Brian2 network, decoding OUT."""
    directory = tempfile.mkdtemp(prefix="plain_", dir=workdir) if target == "cpp_standalone" else None
    with Clocked() as clk:
        cue, cont, learn = cam.stimulus(ops, n, m)
        duration = float(ops[-1].t + 10)  # as run_ops
        raw = plain.simulate(n, m, cue, cont, learn, duration, variant, integration, target, directory)
        got = cam.decode(ops, plain.by_step(*raw["OUTcue"]), plain.by_step(*raw["OUTcont"]), m)
    clk.binary_run = _standalone_run_time(directory)
    return clk, got, {p: events(*r) for p, r in raw.items()}


def _standalone_run_time(directory) -> float | None:
    """Seconds the compiled cpp_standalone program spent simulating (Brian2's last_run_info)."""
    info = Path(directory or "/nonexistent") / "results" / "last_run_info.txt"
    return float(info.read_text().split()[0]) if info.is_file() else None


def compare(a: dict, b: dict) -> tuple[bool, bool]:
    """(OUT rasters identical, every monitored population identical)."""
    out = all(a[p] == b[p] for p in ("OUTcue", "OUTcont"))
    return out, set(a) == set(b) and all(a[p] == b[p] for p in a)


def plain_standalone(ops, n, m, directory) -> tuple[Clocked, dict, list]:
    """One run of the plain program on cpp_standalone in ``directory`` (Brian2 generates the code
    again each time and ``make`` recompiles what changed): timings, events, decoded outputs."""
    with Clocked() as clk:
        cue, cont, learn = cam.stimulus(ops, n, m)
        raw = plain.simulate(n, m, cue, cont, learn, float(ops[-1].t + 10), "default", None,
                             "cpp_standalone", directory)
        got = cam.decode(ops, plain.by_step(*raw["OUTcue"]), plain.by_step(*raw["OUTcont"]), m)
    clk.binary_run = _standalone_run_time(directory)
    return clk, {p: events(*r) for p, r in raw.items()}, got


def cli_cam(n, m, seed, cache_home) -> tuple[float, dict]:
    """Wall time of a whole ``spikemem cam`` command (a fresh Python process) and its JSON."""
    env = {**os.environ, "SPIKEMEM_CACHE": str(cache_home)}
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "spikemem.cli", "cam", "--experiment", "random", "--n-cues", str(n),
                          "--n-bits", str(m), "--ops", str(STANDALONE_OPS), "--seed", str(seed), "--spacing",
                          str(SPACING), "--target", "cpp_standalone", "--json"],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, json.loads(out.stdout)


def standalone_row(n, m, repeats, workdir) -> dict:
    """Cold and warm cpp_standalone of spikemem and of the plain program (see the module docstring)."""
    seqs = [cam.random_ops(n, m, n_ops=STANDALONE_OPS, seed=s, spacing=SPACING) for s in range(repeats + 1)]
    r4 = lambda x: None if x is None else round(x, 4)  # noqa: E731
    cache_home = Path(tempfile.mkdtemp(prefix="spikemem_cache_", dir=workdir))
    cache = str(cache_home / "brian2_standalone")  # where the CLI finds it too (SPIKEMEM_CACHE)
    row = {"size": f"{n}x{m}", "n_cues": n, "n_bits": m, "n_ops": STANDALONE_OPS,
           "sim_ms": float(seqs[0][-1].t + 10)}
    cold, run0, sm0 = run_spikemem(seqs[0], n, m, "cpp_standalone", cache=cache)
    warm = [run_spikemem(seq, n, m, "cpp_standalone", cache=cache) for seq in seqs[1:]]
    cli = [cli_cam(n, m, seed, cache_home) for seed in range(1, repeats + 1)]
    folder = tempfile.mkdtemp(prefix="plain_", dir=workdir)
    p_cold, pl0, _ = plain_standalone(seqs[0], n, m, folder)
    p_same, pl_same, _ = plain_standalone(seqs[0], n, m, folder)
    p_new, pl1, _ = plain_standalone(seqs[1], n, m, folder)
    best = min(warm, key=lambda w: w[0].wall)[0]
    row["sim_ms"] = run0.sim_ms  # spikemem reads the outputs read_shift ms later: 8 ms more
    row.update({
        "spikemem_cold": {"wall_s": r4(cold.wall), "cpu_s": r4(cold.cpu), "program_loop_s": r4(cold.binary_run),
                          "build": cold.standalone_build},
        "spikemem_warm": {"wall_s": r4(best.wall), "cpu_s": r4(best.cpu),
                          "sim_run_s": r4(min(w[1].result.wall_s for w in warm)),
                          "program_loop_s": r4(min(w[0].binary_run for w in warm)),
                          "builds": sorted({w[0].standalone_build for w in warm}),
                          "runs_s": [r4(w[0].wall) for w in warm],
                          "note": "cam.run_ops in this process (brian2 already imported), another sequence each run; "
                                  "sim_run_s: Simulation.run (plan, run arguments, the program, reading its results)"},
        "spikemem_cli_warm": {"wall_s": r4(min(c[0] for c in cli)), "json_wall_s": r4(min(c[1]["wall_s"] for c in cli)),
                              "runs_s": [r4(c[0]) for c in cli],
                              "note": "a whole `spikemem cam --target cpp_standalone` command: Python start, imports "
                                      "(no brian2), model file, protocol, run, decoding, JSON"},
        "plain_cold": {"wall_s": r4(p_cold.wall), "cpu_s": r4(p_cold.cpu), "program_loop_s": r4(p_cold.binary_run)},
        "plain_again_same_ops": {"wall_s": r4(p_same.wall), "cpu_s": r4(p_same.cpu),
                                 "program_loop_s": r4(p_same.binary_run)},
        "plain_again_new_ops": {"wall_s": r4(p_new.wall), "cpu_s": r4(p_new.cpu),
                                "program_loop_s": r4(p_new.binary_run)},
        "identical_spikes": compare(sm0, pl0)[1] and compare(warm[0][2], pl1)[1] and pl_same == pl0,
        "correct_spikemem": [run0.correct, *(w[1].correct for w in warm)],
        "cli_correct": [c[1]["correct"] for c in cli],
        "speedup_vs_real_time_warm": round(row["sim_ms"] / 1000 / best.wall, 1),
    })
    return row


def timing_row(n, m, target, repeats, workdir) -> dict:
    ops = cam.random_ops(n, m, n_ops=N_OPS, seed=0, spacing=SPACING)
    row = {"size": f"{n}x{m}", "n_cues": n, "n_bits": m, "target": target, "n_ops": N_OPS,
           "sim_ms": float(ops[-1].t + 10)}
    same_out, same_all, sm_runs, pl_runs = [], [], [], []
    if target == "cpp_standalone":
        order = ("spikemem", "plain") if n % 2 == 0 else ("plain", "spikemem")  # alternate across sizes
        results = {}
        for who in order:
            results[who] = (run_spikemem if who == "spikemem" else run_plain)(ops, n, m, target, workdir=workdir)
        sm_runs, pl_runs = [results["spikemem"][0]], [results["plain"][0]]
        o, a = compare(results["spikemem"][2], results["plain"][2])
        same_out.append(o), same_all.append(a)
        sm_run, pl_got = results["spikemem"][1], results["plain"][1]
        row["note"] = "one build+run each (C++ compiled from scratch in a fresh directory); cpu_s includes the compilers"
        row["binary_run_s"] = {"spikemem": results["spikemem"][0].binary_run, "plain": results["plain"][0].binary_run}
    else:
        c_sm, sm_run, sm_spikes = run_spikemem(ops, n, m, target)
        c_pl, pl_got, pl_spikes = run_plain(ops, n, m, target)
        row["warmup_s"] = {"spikemem": round(c_sm.wall, 3), "plain": round(c_pl.wall, 3)}
        for k in range(repeats):  # alternate who goes first
            for who in (("spikemem", "plain") if k % 2 == 0 else ("plain", "spikemem")):
                if who == "spikemem":
                    c, sm_run, sm_spikes = run_spikemem(ops, n, m, target)
                    sm_runs.append(c)
                else:
                    c, pl_got, pl_spikes = run_plain(ops, n, m, target)
                    pl_runs.append(c)
            o, a = compare(sm_spikes, pl_spikes)
            same_out.append(o), same_all.append(a)

    def best(runs, key):
        return min(getattr(r, key) for r in runs)
    sm, pl = best(sm_runs, "wall"), best(pl_runs, "wall")
    r4 = lambda x: round(x, 4)  # noqa: E731
    row.update({
        "spikemem_s": r4(sm), "plain_s": r4(pl), "ratio": r4(sm / pl), "overhead_pct": round(100 * (sm / pl - 1), 2),
        # robustness to the noise of a shared 2-core machine
        "ratio_median_paired": r4(statistics.median(a.wall / b.wall for a, b in zip(sm_runs, pl_runs))),
        "spikemem_cpu_s": r4(best(sm_runs, "cpu")), "plain_cpu_s": r4(best(pl_runs, "cpu")),
        "ratio_cpu": r4(best(sm_runs, "cpu") / best(pl_runs, "cpu")),
        # where the time goes: inside brian2.Network.run (code generation + simulation loop) and
        # outside it (model file/IR, building the Brian2 objects, reading monitors, decoding)
        "split_best_s": {who: {"network_run": r4(best(runs, "network_run")),
                               "outside_network_run": r4(min(r.wall - r.network_run for r in runs))}
                         for who, runs in (("spikemem", sm_runs), ("plain", pl_runs))},
        "spikemem_runs_s": [r4(r.wall) for r in sm_runs], "plain_runs_s": [r4(r.wall) for r in pl_runs],
        "identical_spikes": all(same_out), "identical_all_populations": all(same_all),
        "correct_spikemem": sm_run.correct,
        "correct_plain": sum(e == g for e, g in zip(sm_run.expected, pl_got)),
    })
    return row


def score_runs(sizes, seeds, target, check_plain: bool) -> tuple[list[dict], dict]:
    runs = []
    jobs = [(v, i, n, m, s) for v, i in SCORE_CONFIGS for n, m in sizes for s in seeds]
    for variant, integ, n, m, seed in tqdm(jobs, desc="scores", unit="run", file=sys.stderr):
        ops = cam.random_ops(n, m, n_ops=N_OPS, seed=seed, spacing=SPACING)
        _, run, sm_spikes = run_spikemem(ops, n, m, target, variant, integ)
        entry = {"variant": variant, "integration": integ, "size": f"{n}x{m}", "seed": seed,
                 "score_by_op": run.score_by_op(), "correct": run.correct, "n_ops": len(ops)}
        if check_plain:
            _, _, pl_spikes = run_plain(ops, n, m, target, variant, integ)
            entry["identical_spikes"], entry["identical_all_populations"] = compare(sm_spikes, pl_spikes)
        runs.append(entry)
    summary: dict = {}
    for r in runs:  # right/total summed over seeds
        cell = summary.setdefault(f"{r['variant']}/{r['integration']}", {}).setdefault(
            r["size"], {k: [0, 0] for k in (*cam.OP_KINDS, "all")})
        for kind, frac in r["score_by_op"].items():
            right, total = map(int, frac.split("/"))
            cell[kind][0] += right
            cell[kind][1] += total
        cell["all"][0] += r["correct"]
        cell["all"][1] += r["n_ops"]
    summary = {c: {s: {k: f"{v[0]}/{v[1]}" for k, v in kinds.items()} for s, kinds in sizes_.items()}
               for c, sizes_ in summary.items()}
    return runs, summary


def machine_info() -> dict:
    import Cython

    return {"python": sys.version.split()[0], "implementation": platform.python_implementation(),
            "platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "brian2": b2.__version__, "numpy": np.__version__,
            "cython": Cython.__version__, "cxx": (run_cmd("c++", "--version") or "").splitlines()[:1],
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            **checkout(),
            "cython_cache_dir": str(CYTHON_CACHE), "load_average_start": list(os.getloadavg())}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="only 5x10 and numpy (smoke run)")
    p.add_argument("--targets", default=",".join(TARGETS), help="comma-separated: numpy,cython,cpp_standalone")
    p.add_argument("--sizes", default=None, help="comma-separated NxM sizes of the timing rows (default 5x10,32x32,128x128)")
    p.add_argument("--repeats", type=int, default=7, help="timed runs per row after the warm-up (best is reported)")
    p.add_argument("--no-scores", action="store_true", help="skip the random-sequence scores")
    p.add_argument("--standalone", action="store_true",
                   help=f"only cold and warm cpp_standalone, {STANDALONE_OPS} operations per size "
                        f"(default output results/bench_brian2_standalone.json)")
    p.add_argument("--out", default=None, help="JSON to write (default results/bench_brian2.json)")
    args = p.parse_args(argv)
    if args.out is None:
        args.out = str(HERE / "results" / ("bench_brian2_standalone.json" if args.standalone else "bench_brian2.json"))
    targets = ["numpy"] if args.quick else [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = set(targets) - set(TARGETS)
    if unknown:
        p.error(f"unknown target(s): {', '.join(sorted(unknown))}")
    sizes = [(5, 10)] if args.quick else SIZES
    if args.sizes:
        try:
            sizes = [tuple(int(x) for x in size.lower().split("x")) for size in args.sizes.split(",")]
        except ValueError:
            p.error(f"--sizes: expected sizes like 5x10,32x32, got {args.sizes!r}")

    _timed_network_run()
    _record_standalone_runs()
    CYTHON_CACHE.mkdir(parents=True, exist_ok=True)
    b2.prefs.codegen.runtime.cython.cache_dir = str(CYTHON_CACHE)
    b2.prefs.logging.file_log = False  # no brian_debug_*.log files in /tmp
    workdir = tempfile.mkdtemp(prefix="bench_brian2_")
    start = time.perf_counter()
    report = {"benchmark": "spikemem vs plain Brian2, CA3 memory", "machine": machine_info(),
              "setup": {"ops": f"random_ops(n, m, n_ops={N_OPS}, seed=0, spacing={SPACING})", "variant": "default",
                        "repeats": args.repeats, "quick": args.quick,
                        "timed": "spikemem: cam.run_ops (model file, IR, Brian2 build+run, decode); plain: "
                                 "input encoding, Brian2 build+run, decode; best of repeats after a warm-up "
                                 "(cpp_standalone: one build+run each)"}}
    if args.standalone:
        return standalone_main(args, sizes, workdir, start, report)
    try:
        rows = []
        jobs = [(n, m, t) for t in targets for n, m in sizes]
        for n, m, target in tqdm(jobs, desc="timing rows", unit="row", file=sys.stderr):
            rows.append(timing_row(n, m, target, args.repeats, workdir))
            tqdm.write(f"  {rows[-1]['size']:>8} {target:<15} spikemem {rows[-1]['spikemem_s']:.3f}s  "
                       f"plain {rows[-1]['plain_s']:.3f}s  ratio {rows[-1]['ratio']:.3f}  "
                       f"identical {rows[-1]['identical_spikes']}", file=sys.stderr)
        report["rows"] = rows
        if not args.no_scores:
            score_target = "cython" if "cython" in targets else "numpy"
            s_sizes, s_seeds = ([(5, 10)], [0]) if args.quick else (SCORE_SIZES, SCORE_SEEDS)
            runs, summary = score_runs(s_sizes, s_seeds, score_target, check_plain=True)
            report["scores"] = {"target": score_target, "n_ops": N_OPS, "spacing_ms": SPACING, "seeds": s_seeds,
                                "summary": summary, "runs": runs,
                                "identical_spikes_all_runs": all(r.get("identical_spikes", True) for r in runs)}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    out = write_report(report, args.out, start)

    print(f"{'size':>8} {'target':<15} {'spikemem_s':>10} {'plain_s':>8} {'ratio':>6} {'overhead%':>9}  identical")
    for r in report["rows"]:
        print(f"{r['size']:>8} {r['target']:<15} {r['spikemem_s']:>10.3f} {r['plain_s']:>8.3f} {r['ratio']:>6.3f} "
              f"{r['overhead_pct']:>9.1f}  {r['identical_spikes']}")
    for config, per_size in report.get("scores", {}).get("summary", {}).items():
        print(config)
        for size, kinds in per_size.items():
            print(f"  {size:>8}  " + "  ".join(f"{k} {v}" for k, v in kinds.items()))
    print(f"wrote {out} ({report['benchmark_wall_s']} s)")
    return 0


def standalone_main(args, sizes, workdir, start, report) -> int:
    report["benchmark"] = "cpp_standalone cold and warm: spikemem's program cache vs plain Brian2, CA3 memory"
    report["setup"] = {"ops": f"random_ops(n, m, n_ops={STANDALONE_OPS}, seed=s, spacing={SPACING}), "
                              f"s = 0 cold, 1..{args.repeats} warm", "variant": "default", "repeats": args.repeats,
                       "timed": "wall and CPU (this process + the compilers and programs it ran) of cam.run_ops "
                                "(spikemem) and of input encoding + plain.simulate + decoding (plain); "
                                "program_loop_s: CPU seconds inside the compiled program's simulation loop"}
    try:
        rows = []
        for n, m in tqdm(sizes, desc="standalone rows", unit="size", file=sys.stderr):
            rows.append(standalone_row(n, m, args.repeats, workdir))
            r = rows[-1]
            tqdm.write(f"  {r['size']:>8} spikemem cold {r['spikemem_cold']['wall_s']:.1f}s warm "
                       f"{r['spikemem_warm']['wall_s']:.3f}s (CLI {r['spikemem_cli_warm']['wall_s']:.2f}s)  plain cold "
                       f"{r['plain_cold']['wall_s']:.1f}s again {r['plain_again_same_ops']['wall_s']:.1f}s / "
                       f"{r['plain_again_new_ops']['wall_s']:.1f}s  identical {r['identical_spikes']}", file=sys.stderr)
        report["rows"] = rows
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    out = write_report(report, args.out, start)
    print(f"{'size':>8} {'sm cold':>8} {'sm warm':>8} {'sim.run':>8} {'CLI':>6} {'pl cold':>8} {'pl same':>8} "
          f"{'pl new':>8}  identical")
    for r in rows:
        print(f"{r['size']:>8} {r['spikemem_cold']['wall_s']:>8.1f} {r['spikemem_warm']['wall_s']:>8.3f} "
              f"{r['spikemem_warm']['sim_run_s']:>8.3f} {r['spikemem_cli_warm']['wall_s']:>6.2f} "
              f"{r['plain_cold']['wall_s']:>8.1f} {r['plain_again_same_ops']['wall_s']:>8.1f} "
              f"{r['plain_again_new_ops']['wall_s']:>8.1f}  {r['identical_spikes']}")
    print(f"wrote {out} ({report['benchmark_wall_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
