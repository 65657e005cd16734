"""The default CA3 variant at full load: scores of long random sequences, and the shortest spacing.

Part 1 (sweep): ``random_ops(n, m, n_ops, seed, spacing, density)`` for every size,
seed, content density (None = the per-learn U(0.1, 0.5) draw, or a fixed fraction),
integration scheme and uniform spacing, on Brian2 (numpy). Each run records
right/total per op kind, the most cues a recall by content lit right before another
recall by content (the load that broke the published lateral inhibition p12, see the
header of models/ca3_cam.yaml) and the first failing operations.

Part 2 (gaps): the same sequences re-timed with a gap that depends on the pair of
operations: after a learn, from a recall to a learn, from a recall to a recall. It
finds the shortest gaps at which the memory is still exact at each size.

    .venv/bin/python benchmarks/bench_ca3_full_load.py            # full sweep (~1 h on 2 cores)
    .venv/bin/python benchmarks/bench_ca3_full_load.py --quick    # 24x24 and 128x128, 300 ops: smoke run

Writes JSON (default benchmarks/results/bench_ca3_full_load.json).
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

from machine import checkout  # noqa: E402

import spikemem  # noqa: E402
from spikemem.tasks import cam  # noqa: E402

SIZES = [(5, 10), (24, 24), (64, 64), (120, 112), (128, 32), (32, 128), (128, 128), (256, 64), (64, 256),
         (256, 256)]
SEEDS = [0, 1]
DENSITIES = [None, 0.3]
SCHEMES = ["exact", "fixed_step"]
SPACINGS = [8, 7]
N_OPS = 1000
#: (after a learn, recall -> learn, recall -> recall), ms; the protocol's minimum is (7, 6, 6)
GAPS = [(7, 6, 6), (7, 6, 5), (7, 6, 4), (7, 6, 3), (7, 5, 5), (6, 6, 6)]
GAP_SIZES = [(24, 24), (128, 128), (256, 256)]


def retime(ops: list[cam.Op], after_learn: int, recall_to_learn: int, recall_to_recall: int) -> list[cam.Op]:
    """The same operations with a gap (ms) that depends on the operation and the next one."""
    out, t = [], 0
    for k, op in enumerate(ops):
        out.append(dataclasses.replace(op, t=t))
        nxt = ops[k + 1].op if k + 1 < len(ops) else None
        t += after_learn if op.op == "learn" else recall_to_learn if nxt == "learn" else recall_to_recall
    return out


def score(ops: list[cam.Op], n: int, m: int, scheme: str) -> dict:
    """Play ``ops`` on Brian2 (numpy), recording only the outputs; right/total and first failures."""
    net = cam.build_network(ops, n, m, integration=scheme)
    net.probes = [p for p in net.probes if p.population in ("OUTcue", "OUTcont")]
    start = time.perf_counter()
    shifts = cam.read_shifts(net)
    result = spikemem.compile(net, backend="brian2", target="numpy").run(float(ops[-1].t + 10 + max(shifts)))
    wall = time.perf_counter() - start
    memory = cam.SymbolicCAM(n, m)
    expected = [memory.apply(op) for op in ops]
    got = cam.decode(ops, result.spikes["OUTcue"].by_step(net.dt), result.spikes["OUTcont"].by_step(net.dt),
                     m, *shifts)
    by: dict[str, list[int]] = {}
    for op, e, g in zip(ops, expected, got):
        cell = by.setdefault(op.op, [0, 0])
        cell[0] += e == g
        cell[1] += 1
    bad = [k for k, (e, g) in enumerate(zip(expected, got)) if e != g]
    flood = max((len(expected[k].cues) for k in range(len(ops) - 1)
                 if ops[k].op == ops[k + 1].op == "recall_content"), default=0)
    return {"correct": len(ops) - len(bad), "n_ops": len(ops), "by_op": {k: f"{a}/{b}" for k, (a, b) in by.items()},
            "stored_cues": len(memory.stored), "largest_recall_before_a_recall_by_content": flood,
            "first_failures": [{"index": k, "after": ops[k - 1].op if k else None, "op": ops[k].op,
                                "expected_cues": len(expected[k].cues), "got_cues": len(got[k].cues)}
                               for k in bad[:5]],
            "wall_s": round(wall, 2)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="24x24 and 128x128, 300 ops, seed 0: smoke run")
    p.add_argument("--out", default=str(HERE / "results" / "bench_ca3_full_load.json"))
    args = p.parse_args(argv)
    sizes, seeds, n_ops = ([(24, 24), (128, 128)], [0], 300) if args.quick else (SIZES, SEEDS, N_OPS)
    gap_sizes = [(24, 24)] if args.quick else GAP_SIZES
    report = {"benchmark": "default CA3 variant at full load", "machine": {
        "python": sys.version.split()[0], "platform": platform.platform(), "cpu_count": os.cpu_count(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), **checkout(),
        "load_average_start": list(os.getloadavg())}, "quick": args.quick, "sweep": [], "gaps": []}
    start = time.perf_counter()
    for n, m in sizes:
        for seed in seeds:
            for density in DENSITIES:
                for scheme in SCHEMES:
                    for spacing in SPACINGS:
                        ops = cam.random_ops(n, m, n_ops=n_ops, seed=seed, spacing=spacing, density=density)
                        row = {"size": f"{n}x{m}", "seed": seed, "density": density, "integration": scheme,
                               "spacing_ms": spacing, **score(ops, n, m, scheme)}
                        report["sweep"].append(row)
                        print(json.dumps(row), file=sys.stderr, flush=True)
    for n, m in gap_sizes:
        ops = cam.random_ops(n, m, n_ops=n_ops, seed=0, density=0.3)
        for scheme in SCHEMES:
            for gaps in GAPS:
                row = {"size": f"{n}x{m}", "seed": 0, "density": 0.3, "integration": scheme,
                       "gap_after_learn_ms": gaps[0], "gap_recall_to_learn_ms": gaps[1],
                       "gap_recall_to_recall_ms": gaps[2], **score(retime(ops, *gaps), n, m, scheme)}
                report["gaps"].append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    report["all_sweep_runs_exact"] = all(r["correct"] == r["n_ops"] for r in report["sweep"])
    report["machine"]["load_average_end"] = list(os.getloadavg())
    report["benchmark_wall_s"] = round(time.perf_counter() - start, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    for r in report["sweep"]:
        print(f"{r['size']:>8} seed {r['seed']} density {str(r['density']):>4} {r['integration']:<10} "
              f"{r['spacing_ms']} ms  {r['correct']}/{r['n_ops']}  {r['by_op']}")
    for r in report["gaps"]:
        print(f"{r['size']:>8} {r['integration']:<10} gaps {r['gap_after_learn_ms']}/{r['gap_recall_to_learn_ms']}/"
              f"{r['gap_recall_to_recall_ms']} ms  {r['correct']}/{r['n_ops']}  {r['by_op']}")
    print(f"wrote {out} ({report['benchmark_wall_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
