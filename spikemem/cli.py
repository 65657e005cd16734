"""The ``spikemem`` command.

    spikemem cam --experiment functional|stress|applicability|random [--variant default|published]
                 [--backend brian2] [--target numpy|cython|cpp_standalone] [--integration exact|fixed_step]
                 [--n-cues N --n-bits M --ops K --seed S --spacing MS] [--ops-file FILE]
                 [--json] [--plot PATH]
    spikemem run MODEL_FILE --duration MS [--backend B] [--target T] [--set k=v ...] [--json] [--plot PATH]
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Sequence

from spikemem.errors import SpikememError


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (SpikememError, ValueError, FileNotFoundError) as exc:
        print(f"spikemem: error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spikemem", description="Spiking neuromorphic memory toolkit.")
    sub = parser.add_subparsers(dest="command", required=True)

    cam = sub.add_parser("cam", help="store and recall memories in the CA3 content-addressable memory")
    cam.add_argument("--experiment", default="functional",
                     choices=["functional", "stress", "applicability", "random"],
                     help="a paper experiment, or a random sequence (default: functional)")
    cam.add_argument("--ops-file", help="run your own operations (JSON, the op format of experiments.json)")
    cam.add_argument("--variant", default="default", choices=["default", "published"],
                     help="default: spikemem's exact memory; published: the SpiNNaker network")
    _engine_args(cam)
    cam.add_argument("--integration", choices=["exact", "fixed_step"],
                     help="override the integration scheme of every neuron")
    cam.add_argument("--n-cues", type=int, default=None, help="cues (random: default 5)")
    cam.add_argument("--n-bits", type=int, default=None, help="content bits (random: default 10)")
    cam.add_argument("--ops", type=int, default=100, help="operations of a random sequence")
    cam.add_argument("--seed", type=int, default=0, help="seed of a random sequence")
    cam.add_argument("--spacing", type=int, default=8, help="ms between operations of a random sequence")
    cam.set_defaults(func=_cmd_cam)

    run = sub.add_parser("run", help="simulate any description file")
    run.add_argument("model", help="a .yaml/.yml/.json description")
    run.add_argument("--duration", type=float, required=True, help="simulated time (ms)")
    run.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                     help="override a declared param (repeatable)")
    _engine_args(run)
    run.set_defaults(func=_cmd_run)
    return parser


def _engine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", default="brian2", help="engine (default: brian2)")
    p.add_argument("--target", default="numpy", choices=["numpy", "cython", "cpp_standalone"],
                   help="Brian2 code generation target (default: numpy)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--plot", metavar="PATH", help="write a raster plot (PNG)")


def _cmd_cam(args: argparse.Namespace) -> int:
    from spikemem.tasks import cam

    if args.ops_file:
        ops, n_cues, n_bits = cam.load_ops_file(args.ops_file, args.n_cues, args.n_bits)
        experiment = "ops-file"
    elif args.experiment == "random":
        n_cues, n_bits = args.n_cues or 5, args.n_bits or 10
        ops = cam.random_ops(n_cues, n_bits, args.ops, args.seed, args.spacing)
        experiment = "random"
    else:
        if args.n_cues or args.n_bits:
            raise ValueError("--n-cues/--n-bits apply to --experiment random and --ops-file; "
                             "the paper experiments have fixed sizes")
        ops, n_cues, n_bits = cam.load_experiment(args.experiment)
        experiment = args.experiment
    options = {"target": args.target} if args.backend == "brian2" else {}
    run = cam.run_ops(ops, n_cues, n_bits, variant=args.variant, backend=args.backend,
                      integration=args.integration, progress=not args.json, **options)
    report = {
        "experiment": experiment, "variant": args.variant, "backend": args.backend,
        "target": args.target if args.backend == "brian2" else None,
        "integration": args.integration or "model default",
        "n_cues": n_cues, "n_bits": n_bits, "ops": len(ops), "correct": run.correct,
        "by_op": run.score_by_op(), "mismatches": run.mismatches(),
        "sim_ms": run.sim_ms, "wall_s": round(run.wall_s, 3), "results": run.results(),
    }
    if args.plot:
        _plot_cam(run, args.plot)
        report["plot"] = args.plot
    if args.json:
        print(json.dumps(report))
    else:
        _print_cam_table(run, report)
    return 0


def _bits(bits: Sequence[int] | None) -> str:
    return "-" if bits is None else "{" + ",".join(str(j) for j, b in enumerate(bits) if b) + "}"


def _print_cam_table(run: Any, report: dict[str, Any]) -> None:
    print(f"CA3 memory, {report['variant']} variant, {report['n_cues']} cues x {report['n_bits']} bits, "
          f"{report['experiment']} ({report['ops']} ops) on {report['backend']}")
    print(f"{'#':>4} {'t ms':>6}  {'operation':<15} {'input':<22} {'expected':<26} {'recalled':<26} ok")
    for k, (op, e, g) in enumerate(zip(run.ops, run.expected, run.got)):
        given = f"cue {op.cue}" if op.op == "recall_cue" else _bits(op.content)
        if op.op == "learn":
            given = f"cue {op.cue} <- {_bits(op.content)}"
        show = (lambda o: "cues " + ("{" + ",".join(map(str, o.cues)) + "}")) if op.op == "recall_content" \
            else (lambda o: _bits(o.content))
        print(f"{k:>4} {op.t:>6}  {op.op:<15} {given[:22]:<22} {show(e)[:26]:<26} {show(g)[:26]:<26} "
              f"{'yes' if e == g else 'NO'}")
    scores = ", ".join(f"{k} {v}" for k, v in report["by_op"].items())
    print(f"\n{report['correct']}/{report['ops']} operations right ({scores}); "
          f"{report['sim_ms']:.0f} ms simulated in {report['wall_s']:.2f} s")
    if "plot" in report:
        print(f"raster written to {report['plot']}")


def _plot_cam(run: Any, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from spikemem.plotting import raster

    short = {"learn": "L", "recall_cue": "C", "recall_content": "F"}
    marks = [(op.t, f"{short[op.op]}{'' if op.cue is None else op.cue}") for op in run.ops]
    ax = raster(run.result, marks=marks if len(run.ops) <= 60 else ())
    ax.set_title(f"CA3 memory: {run.correct}/{len(run.ops)} operations right "
                 f"(L = learn, C = recall by cue, F = recall by content)", fontsize=9)
    plt.tight_layout()
    plt.savefig(path, dpi=120)
    plt.close()


def _cmd_run(args: argparse.Namespace) -> int:
    import spikemem

    overrides = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item!r}: write NAME=VALUE")
        try:
            overrides[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--set {item!r}: the value must be a number") from None
    net = spikemem.load(args.model, overrides=overrides)
    options = {"target": args.target} if args.backend == "brian2" else {}
    result = spikemem.compile(net, backend=args.backend, **options).run(args.duration)
    rates = {name: float(len(tr.times) / tr.size / (args.duration / 1000.0)) for name, tr in result.spikes.items()}
    report = {
        "model": args.model, "backend": args.backend, "duration_ms": args.duration, "params": net.params,
        "wall_s": round(result.wall_s, 3),
        "spike_counts": {name: int(len(tr.times)) for name, tr in result.spikes.items()},
        "rates_hz": {k: round(v, 3) for k, v in rates.items()},
        "spikes": {name: {"indices": tr.indices.tolist(), "times_ms": tr.times.tolist()}
                   for name, tr in result.spikes.items()},
    }
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from spikemem.plotting import raster
        raster(result)
        plt.tight_layout()
        plt.savefig(args.plot, dpi=120)
        plt.close()
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{net.name}: {args.duration:.0f} ms on {args.backend} in {result.wall_s:.2f} s")
    print(f"{'population':<24} {'size':>6} {'spikes':>8} {'rate (Hz)':>10}")
    for pop in net.populations:
        if pop.name in result.spikes:
            print(f"{pop.name:<24} {pop.size:>6} {report['spike_counts'][pop.name]:>8} {rates[pop.name]:>10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
