"""The same CA3 memory on every backend: wall time and correctness side by side.

For each backend and size, the same random operation sequence
(``random_ops(n, m, n_ops=100, seed=0)``, default variant) is played through
``spikemem.tasks.cam.run_ops``, in one process. Brian2 (cython target) is the
reference: every other run is checked event for event against a Brian2 run of
the same sequence (every recorded population) and for equal learned weights.

pyNN.brian2 is very slow on the plastic CA3: the PyNN backend runs the gated
STDP on the host, one 1 ms PyNN run at a time inside each learning episode, and
pyNN.brian2 pays Brian2's whole per-run setup on each of them. By default it
runs only at 5x10 with the first ``--slow-ops`` (20) operations of the
sequence; ``--slow-sizes`` widens that, ``--skip-slow`` drops it.

Backends run in order (brian2, pynn.nest, pynn.brian2), each with one untimed
warm-up (the first 3 ops at 5x10: imports, cython compilation, NEST start-up),
then ``--repeats`` timed runs per size; the best is reported, all are kept.

    .venv/bin/python benchmarks/bench_backends.py                   # default (~3 min on 2 cores)
    .venv/bin/python benchmarks/bench_backends.py --sizes 5x10 --skip-slow

Writes JSON (default benchmarks/results/bench_backends.json).
"""
from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import logging
import os
import platform
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT)]

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from machine import checkout  # noqa: E402

from spikemem.tasks import cam  # noqa: E402

BACKENDS = ["brian2", "pynn.nest", "pynn.brian2"]
SLOW = {"pynn.brian2"}
SIZES = [(5, 10), (32, 32), (128, 128)]
N_OPS, SEED, SLOW_OPS = 100, 0, 20
REFERENCE = "brian2"
CYTHON_CACHE = ROOT / ".venv" / "brian2_cython_cache"


def parse_sizes(text: str) -> list[tuple[int, int]]:
    return [tuple(int(x) for x in size.lower().split("x")) for size in text.split(",") if size.strip()]


def options_for(backend: str, nest_threads: int) -> dict:
    if backend == "brian2":
        return {"target": "cython"}
    if backend == "pynn.nest":
        return {"threads": nest_threads}
    return {}


def play(ops, n, m, backend, options) -> tuple[float, cam.CamRun]:
    """(seconds of the whole ``run_ops`` call: model file, build, run, decode; the CamRun)."""
    start = time.perf_counter()
    run = cam.run_ops(ops, n, m, backend=backend, **options)
    return time.perf_counter() - start, run


def events(run: cam.CamRun) -> dict[str, set]:
    return {p: s.events(run.result.dt) for p, s in run.result.spikes.items()}


def same_as(run: cam.CamRun, ref: cam.CamRun) -> dict:
    """Event-for-event and weight comparison of ``run`` with the reference run of the same ops."""
    a, b = events(run), events(ref)
    differ = sorted(p for p in set(a) | set(b) if a.get(p) != b.get(p))
    w, wr = run.result.weights, ref.result.weights
    weights = set(w) == set(wr) and all(np.array_equal(w[k], wr[k], equal_nan=True) for k in w)
    return {"identical_to_brian2": not differ, "populations_compared": len(set(a) | set(b)),
            "populations_differing": differ, "weights_equal_to_brian2": weights,
            "outputs_equal_to_brian2": run.got == ref.got}


def row(backend, n, m, ops, options, repeats, reference) -> tuple[dict, cam.CamRun]:
    walls, runs = [], []
    for _ in range(repeats):
        wall, run = play(ops, n, m, backend, options)
        walls.append(wall)
        runs.append(run)
    best = int(np.argmin(walls))
    run = runs[best]
    out = {"backend": backend, "size": f"{n}x{m}", "n_cues": n, "n_bits": m, "n_ops": len(ops),
           "options": options, "sim_ms": run.sim_ms,
           "wall_s": round(walls[best], 4),             # the whole run_ops call, best of repeats
           "compile_run_s": round(run.wall_s, 4),       # spikemem.compile + sim.run only
           "wall_runs_s": [round(w, 4) for w in walls],
           "correct": run.correct, "total": len(ops), "correct_total": f"{run.correct}/{len(ops)}",
           "score_by_op": run.score_by_op()}
    if backend == REFERENCE:
        out.update(identical_to_brian2=True, weights_equal_to_brian2=True, note="reference")
    else:
        out.update(same_as(run, reference))
    # every repeat of a backend must give the same spikes
    out["repeats_identical"] = all(events(r) == events(run) for r in runs)
    return out, run


def version(*dists: str) -> str | None:
    for d in dists:
        try:
            return importlib.metadata.version(d)
        except importlib.metadata.PackageNotFoundError:
            pass
    return None


def machine_info() -> dict:

    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
            "versions": {name: version(*dists) for name, dists in {
                "brian2": ("Brian2", "brian2"), "nest": ("nest-simulator", "nest"), "pyNN": ("PyNN", "pyNN"),
                "numpy": ("numpy",), "cython": ("Cython",)}.items()},
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            **checkout(),
            "load_average_start": list(os.getloadavg())}


def quiet_engines() -> None:
    """PyNN/NEST log deprecation warnings and one line per population on every build."""
    logging.getLogger("PyNN").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated: " + ",".join(BACKENDS))
    p.add_argument("--sizes", default="5x10,32x32,128x128", help="comma-separated NxM sizes")
    p.add_argument("--ops", type=int, default=N_OPS, help="operations of the random sequence (seed 0)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per row after the warm-up (best is reported)")
    p.add_argument("--nest-threads", type=int, default=1, help="NEST local_num_threads")
    p.add_argument("--skip-slow", action="store_true", help="do not run pynn.brian2 at all")
    p.add_argument("--slow-sizes", default="5x10", help="sizes at which pynn.brian2 runs (default 5x10)")
    p.add_argument("--slow-ops", type=int, default=SLOW_OPS,
                   help="pynn.brian2 plays only the first K ops of the sequence (default 20; 0: all)")
    p.add_argument("--out", default=str(HERE / "results" / "bench_backends.json"))
    args = p.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - set(BACKENDS)
    if unknown:
        p.error(f"unknown backend(s): {', '.join(sorted(unknown))} (one of {', '.join(BACKENDS)})")
    if args.skip_slow:
        backends = [b for b in backends if b not in SLOW]
    backends.sort(key=BACKENDS.index)   # brian2 first: pyNN.brian2 changes Brian2's global preferences
    try:
        sizes, slow_sizes = parse_sizes(args.sizes), parse_sizes(args.slow_sizes)
    except ValueError:
        p.error(f"--sizes/--slow-sizes: expected sizes like 5x10,32x32, got {args.sizes!r} / {args.slow_sizes!r}")

    quiet_engines()
    import brian2 as b2
    CYTHON_CACHE.mkdir(parents=True, exist_ok=True)
    b2.prefs.codegen.runtime.cython.cache_dir = str(CYTHON_CACHE)
    b2.prefs.logging.file_log = False
    b2.BrianLogger.log_level_warn()   # pyNN.brian2 networks log every integration method choice

    jobs = []   # (backend, n, m, ops)
    for backend in backends:
        for n, m in sizes if backend not in SLOW else [s for s in sizes if s in slow_sizes]:
            ops = cam.random_ops(n, m, n_ops=args.ops, seed=SEED)
            if backend in SLOW and args.slow_ops:
                ops = ops[:args.slow_ops]
            jobs.append((backend, n, m, ops))
    report = {"benchmark": "CA3 memory (default variant) on every backend", "machine": machine_info(),
              "setup": {"ops": f"random_ops(n, m, n_ops={args.ops}, seed={SEED})", "variant": "default",
                        "backends": backends, "sizes": [f"{n}x{m}" for n, m in sizes], "repeats": args.repeats,
                        "nest_threads": args.nest_threads, "reference": f"{REFERENCE} (target cython)",
                        "timed": "the whole cam.run_ops call (model file, IR, build, run, decode), best of "
                                 "repeats after one untimed warm-up per backend; compile_run_s: compile + run only",
                        "identical_to_brian2": "spike events (step, neuron) of every recorded population equal "
                                               "to a brian2 run of the same ops; weights_equal_to_brian2: the "
                                               "learned weights of both plastic projections equal"},
              "slow_backends": {b: {"sizes": [f"{n}x{m}" for n, m in slow_sizes],
                                    "n_ops": args.slow_ops or args.ops,
                                    "why": "the PyNN backend runs the gated STDP on the host, one 1 ms PyNN run at "
                                           "a time inside every learning episode; pyNN.brian2 pays Brian2's "
                                           "per-run setup on each"}
                                for b in SLOW if b in backends},
              "skipped": sorted(SLOW) if args.skip_slow else []}
    start = time.perf_counter()
    references: dict[tuple, cam.CamRun] = {}
    rows: list[dict] = []
    warmed: set[str] = set()
    ref_options = options_for(REFERENCE, args.nest_threads)
    for backend, n, m, ops in tqdm(jobs, desc="backend x size", unit="row", file=sys.stderr):
        options = options_for(backend, args.nest_threads)
        key = (n, m, len(ops))
        if backend != REFERENCE and key not in references:   # e.g. the shortened pyNN.brian2 sequence
            references[key] = play(ops, n, m, REFERENCE, ref_options)[1]
        if backend not in warmed:
            warm = cam.random_ops(5, 10, n_ops=3, seed=SEED)
            play(warm, 5, 10, backend, options)
            warmed.add(backend)
        result, run = row(backend, n, m, ops, options, args.repeats, references.get(key))
        if backend == REFERENCE:
            references[key] = run
        rows.append(result)
        tqdm.write(f"  {backend:<12} {result['size']:>8} {result['n_ops']:>4} ops  {result['wall_s']:9.2f} s  "
                   f"{result['correct_total']:>7}  identical {result['identical_to_brian2']}", file=sys.stderr)
        report["rows"] = rows
        write(report, args.out, start)   # a partial JSON survives an interrupted run
    report["machine"]["load_average_end"] = list(os.getloadavg())
    out = write(report, args.out, start)

    print(f"{'backend':<12} {'size':>8} {'ops':>4} {'sim_ms':>7} {'wall_s':>9} {'correct':>8}  identical  weights")
    for r in rows:
        print(f"{r['backend']:<12} {r['size']:>8} {r['n_ops']:>4} {r['sim_ms']:>7g} {r['wall_s']:>9.2f} "
              f"{r['correct_total']:>8}  {str(r['identical_to_brian2']):<9}  {r['weights_equal_to_brian2']}")
    print(f"wrote {out} ({report['benchmark_wall_s']} s)")
    return 0


def write(report: dict, path: str, start: float) -> Path:
    report["benchmark_wall_s"] = round(time.perf_counter() - start, 1)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    return out


if __name__ == "__main__":
    sys.exit(main())
