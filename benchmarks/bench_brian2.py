"""spikemem's overhead over a hand-written plain Brian2 program of the same CA3 memory.

For each size and Brian2 target, the same random operation sequence
(``random_ops(n, m, n_ops=100, seed=0)``, default variant) is played through
spikemem (``spikemem.tasks.cam.run_ops``: model file -> IR -> Brian2 -> decoded
outputs) and through ``plain_brian2_ca3.simulate`` (input encoding -> Brian2 ->
decoded outputs), alternating in one process. numpy/cython: one warm-up run each
(absorbs cython compilation), then the best of ``--repeats`` runs. cpp_standalone
recompiles every run: one build+run each, in fresh directories. Every run pair is
checked for identical spikes.

Then the random-sequence scores (right/total per op kind) of the default variant
under both integration schemes and of the published variant, for 5x10, 9x17,
24x24 and 128x128, seeds 0-2, 8 ms spacing (each run also checked against the
plain program).

    .venv/bin/python benchmarks/bench_brian2.py            # full run (~25 min on 2 cores, warm cython cache)
    .venv/bin/python benchmarks/bench_brian2.py --quick    # 5x10, numpy: smoke run

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

from machine import checkout, run_cmd  # noqa: E402

import plain_brian2_ca3 as plain  # noqa: E402
from spikemem.tasks import cam  # noqa: E402

CYTHON_CACHE = ROOT / ".venv" / "brian2_cython_cache"
SIZES = [(5, 10), (32, 32), (128, 128)]
TARGETS = ["numpy", "cython", "cpp_standalone"]
SCORE_SIZES = [(5, 10), (9, 17), (24, 24), (128, 128)]
SCORE_SEEDS = [0, 1, 2]
SCORE_CONFIGS = [("default", "exact"), ("default", "fixed_step"), ("published", "fixed_step")]
N_OPS, SPACING = 100, 8


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


def run_spikemem(ops, n, m, target, variant="default", integration=None, workdir=None):
    """(Clocked timings, CamRun, {population: events}) of one spikemem run."""
    options = {"target": target}
    if target == "cpp_standalone":
        options["standalone_dir"] = tempfile.mkdtemp(prefix="spikemem_", dir=workdir)
    with Clocked() as clk:
        run = cam.run_ops(ops, n, m, variant=variant, integration=integration, **options)
    spikes = {p: events(s.indices, s.times) for p, s in run.result.spikes.items()}
    clk.binary_run = _standalone_run_time(options.get("standalone_dir"))
    return clk, run, spikes


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
    p.add_argument("--out", default=str(HERE / "results" / "bench_brian2.json"))
    args = p.parse_args(argv)
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
    report["machine"]["load_average_end"] = list(os.getloadavg())
    report["benchmark_wall_s"] = round(time.perf_counter() - start, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")

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


if __name__ == "__main__":
    sys.exit(main())
