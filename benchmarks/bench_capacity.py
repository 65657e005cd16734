"""Capacity curves: the CA3 memory beside Willshaw, Hopfield and a dense associative memory.

Three parts, each a :func:`spikemem.tasks.capacity.sweep`:

- ``one_hot``: the CA3's own code (one cue neuron per memory) at 16x16, 32x32 and 64x64,
  loads 1/4 to 1, content densities 0.1, 0.25, 0.5, fragments of 1, 2 and 4 bits; the
  spiking CA3 (default variant, Brian2 numpy) and the three numpy memories on the same
  pattern sets.
- ``sparse``: numpy memories only, distributed sparse cues (log2 n active units of n) and
  contents of the same activity, loads 1/4 to 16 pairs per cue neuron, at 64x64 and
  256x256, Willshaw also at 1024x1024: the regime of Willshaw's ln 2.
- ``dense``: numpy memories only, cues of n/2 active units and contents of density 1/2 (the
  unbiased patterns the classic Hopfield rule is made for), at 64x64 and 256x256.

The one-hot part (with the CA3) takes about 3.5 minutes on 2 cores (run it under ``nice``); the numpy parts about 2.

    nice -n 10 .venv/bin/python benchmarks/bench_capacity.py            # all parts
    nice -n 10 .venv/bin/python benchmarks/bench_capacity.py --parts one_hot --quick

Writes benchmarks/results/capacity.json (and capacity.png, the curves) unless told otherwise.
It records the commit, and the last commit of the CA3 model file with whether the file
differed from it when it ran.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT)]

from machine import checkout, run_cmd  # noqa: E402

from spikemem.tasks import capacity  # noqa: E402

PARTS = ("one_hot", "sparse", "dense")


def configs(quick: bool) -> dict[str, list[capacity.SweepConfig]]:
    """The sweeps of each part (``quick``: smaller sizes and fewer points, for a check)."""
    sizes = ((16, 16), (32, 32)) if quick else ((16, 16), (32, 32), (64, 64))
    one_hot = [capacity.SweepConfig(memories=capacity.MEMORIES, sizes=sizes, loads=(0.25, 0.5, 0.75, 1.0),
                                    densities=(0.1, 0.25, 0.5), fragments=(1, 2, 4), n_fragments=16,
                                    trials=1 if quick else 2)]
    sparse_sizes = (64,) if quick else (64, 256)
    loads = (0.25, 0.5, 1.0, 2.0, 4.0) if quick else (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
    sparse = []
    for n in sparse_sizes:
        a = round(math.log2(n))
        sparse.append(capacity.SweepConfig(memories=capacity.NUMPY_MEMORIES, sizes=((n, n),),
                                           loads=loads if n <= 64 else loads[:-1], densities=(a / n,),
                                           fragments=(1, 2, 4), trials=3, cue_active=a))
    if not quick:
        sparse.append(capacity.SweepConfig(memories=("willshaw",), sizes=((1024, 1024),),
                                           loads=(1.0, 2.0, 4.0, 8.0, 16.0), densities=(10 / 1024,),
                                           fragments=(1, 2, 4), trials=2, cue_active=10))
    dense = [capacity.SweepConfig(memories=capacity.NUMPY_MEMORIES, sizes=((n, n),),
                                  loads=(1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2), densities=(0.5,),
                                  fragments=(1, 2, 4), trials=3, cue_active=n // 2)
             for n in ((64,) if quick else (64, 256))]
    return {"one_hot": one_hot, "sparse": sparse, "dense": dense}


def model_provenance() -> dict[str, object]:
    """The CA3 model file measured: its last commit, and whether the file differed from it."""
    path = "models/ca3_cam.yaml"
    return {"model": path, "model_commit": run_cmd("git", "log", "-1", "--format=%H", "--", path),
            "model_commit_subject": run_cmd("git", "log", "-1", "--format=%s", "--", path),
            "model_modified": bool(run_cmd("git", "status", "--porcelain", "--", path)),
            "model_sha256": capacity.model_fingerprint("default")}


def plot(results: dict[str, dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = {part: [r for sweep in results[part]["sweeps"] for r in sweep["rows"]] for part in results}
    panels = [p for p in PARTS if p in rows]
    fig, axes = plt.subplots(len(panels), 3, figsize=(16, 4.2 * len(panels)), constrained_layout=True, squeeze=False)
    titles = {"one_hot": "one-hot cues (the CA3's code), content density 0.25",
              "sparse": "sparse distributed cues (log2 n of n units), contents of the same activity",
              "dense": "dense cues (n/2 of n units), contents of density 0.5"}
    for ax_row, part in zip(axes, panels):
        capacity.plot_curves(rows[part], density=0.25 if part == "one_hot" else "all", fragment=2, axes=ax_row,
                             title="")
        ax_row[1].set_title(titles[part])
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated: " + ", ".join(PARTS))
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer points")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "capacity.json")
    parser.add_argument("--plot", type=Path, default=None, help="the curves (default: OUT with .png)")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        parser.error(f"--parts: unknown {', '.join(unknown)} (choose from {', '.join(PARTS)})")
    started = time.perf_counter()
    record: dict[str, object] = {
        "benchmark": "capacity", "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        **checkout(), "quick": args.quick, "parts": {}}
    if "one_hot" in parts:
        record["ca3_model"] = model_provenance()
    for part in parts:
        t0 = time.perf_counter()
        sweeps = [capacity.sweep(config, progress=True) for config in configs(args.quick)[part]]
        record["parts"][part] = {"sweeps": sweeps, "wall_s": round(time.perf_counter() - t0, 1)}
        print(f"{part}: {sum(len(s['rows']) for s in sweeps)} rows in {record['parts'][part]['wall_s']} s",
              file=sys.stderr)
    if "one_hot" in parts and model_provenance() != record["ca3_model"]:
        print("the CA3 model changed while the benchmark ran: not written; run it again", file=sys.stderr)
        return 1
    record["wall_s"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    plot(record["parts"], args.plot or args.out.with_suffix(".png"))
    print(f"wrote {args.out} and {args.plot or args.out.with_suffix('.png')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
