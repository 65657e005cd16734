"""The ``spikemem`` command.

    spikemem cam --experiment functional|stress|applicability|random [--variant default|published]
                 [--backend brian2|pynn.nest|pynn.brian2] [--target numpy|cython|cpp_standalone]
                 [--integration exact|fixed_step] [--threads N] [--approximate NAME]
                 [--n-cues N --n-bits M --ops K --seed S --spacing MS] [--ops-file FILE]
                 [--json] [--plot PATH]
    spikemem run MODEL_FILE --duration MS [--backend B] [--target T] [--set k=v ...] [--json] [--plot PATH]
    spikemem export MODEL --to spinnaker [--board spin5] [--virtual] [--json] [--set k=v ...]
                    [--approximate NAME ...]
    spikemem export MODEL --to pynn-script OUT.py [--simulator nest|spiNNaker] [--duration MS] [--set k=v ...]
                    [--approximate NAME ...]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
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

    export = sub.add_parser("export",
                            help="export a description: SpiNNaker resources and mapping, or a PyNN script")
    export.add_argument("model", help="a .yaml/.yml/.json description, or a model name in models/ (e.g. ca3_cam)")
    export.add_argument("--to", nargs="+", required=True, metavar="TARGET",
                        help="'spinnaker', or 'pynn-script OUT.py'")
    export.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a declared param (repeatable)")
    export.add_argument("--approximate", action="append", default=[], metavar="NAME",
                        help="accept a named engine approximation (repeatable): integration, min_delay")
    export.add_argument("--board", default="spin5", help="spinnaker: a board name (spin3, spin5) or profile "
                                                         "file (default: spin5)")
    export.add_argument("--virtual", action="store_true",
                        help="spinnaker: also map, place and route with sPyNNaker on a virtual board")
    export.add_argument("--json", action="store_true", help="spinnaker: print one JSON object instead of a table")
    export.add_argument("--simulator", default="nest", choices=["nest", "spiNNaker"],
                        help="pynn-script: the PyNN simulator the script imports (default: nest)")
    export.add_argument("--duration", type=float, metavar="MS",
                        help="pynn-script: simulated time (ms; default: the model's 'duration' param)")
    export.set_defaults(func=_cmd_export)
    return parser


def _engine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", default="brian2",
                   help="brian2 (default), pynn.nest, pynn.brian2 or pynn.spinnaker")
    p.add_argument("--target", default="numpy", choices=["numpy", "cython", "cpp_standalone"],
                   help="Brian2 code generation target (default: numpy)")
    p.add_argument("--threads", type=int, default=1, help="pynn.nest: NEST threads (default 1)")
    p.add_argument("--approximate", action="append", default=[], metavar="NAME",
                   help="pynn.*: accept a named approximation (integration, min_delay); repeatable")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--plot", metavar="PATH", help="write a raster plot (PNG)")


def _backend_options(args: argparse.Namespace) -> dict[str, Any]:
    """The engine options the chosen backend takes."""
    if args.backend == "brian2":
        return {"target": args.target}
    options: dict[str, Any] = {"approximations": tuple(args.approximate)}
    if args.threads != 1:
        options["threads"] = args.threads
    return options


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
    options = _backend_options(args)
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


def _overrides(items: Sequence[str]) -> dict[str, float]:
    """``--set NAME=VALUE`` arguments as param overrides."""
    overrides = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item!r}: write NAME=VALUE")
        try:
            overrides[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--set {item!r}: the value must be a number") from None
    return overrides


def _cmd_run(args: argparse.Namespace) -> int:
    import spikemem

    net = spikemem.load(args.model, overrides=_overrides(args.set))
    options = _backend_options(args)
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


def _model_path(model: str) -> Path:
    """A description file: ``model`` itself if it is a path, else ``models/<model>.yaml``."""
    path = Path(model)
    if path.suffix in (".yaml", ".yml", ".json") or path.exists():
        return path
    library = Path(__file__).resolve().parents[1] / "models"
    named = library / f"{model}.yaml"
    if not named.exists():
        names = ", ".join(sorted(p.stem for p in library.glob("*.yaml")))
        raise FileNotFoundError(f"model '{model}': no such file, and no model of that name in {library} "
                                f"(available: {names})")
    return named


def _cmd_export(args: argparse.Namespace) -> int:
    import spikemem

    target, rest = args.to[0], args.to[1:]
    if target not in ("spinnaker", "pynn-script"):
        raise ValueError(f"--to {target!r}: choose 'spinnaker' or 'pynn-script OUT.py'")
    if len(rest) != (1 if target == "pynn-script" else 0):
        raise ValueError("--to spinnaker takes no file; --to pynn-script takes one: --to pynn-script OUT.py")
    net = spikemem.load(_model_path(args.model), overrides=_overrides(args.set))
    if target == "pynn-script":
        from spikemem.export.pynn_script import write_script

        path = write_script(net, rest[0], simulator=args.simulator, duration=args.duration,
                            approximations=tuple(args.approximate))
        print(f"{net.name}: PyNN script for {args.simulator} written to {path}")
        return 0
    from spikemem.export import spinnaker

    est = spinnaker.estimate(net, args.board, args.approximate)
    note = spinnaker.scheme_note(net)
    if note and "integration" not in args.approximate:
        print(note, file=sys.stderr)
    mapping = spinnaker.map_virtual(net, est.board, args.approximate) if args.virtual else None
    if args.json:
        print(json.dumps(spinnaker.report_json(est, mapping)))
    else:
        _print_spinnaker_table(est, mapping)
    if mapping is not None and mapping.warnings:
        counts = {w: mapping.warnings.count(w) for w in mapping.warnings}
        lines = [f"  {w}" + (f" (x{n})" if n > 1 else "") for w, n in counts.items()]
        print("sPyNNaker warnings:\n" + "\n".join(lines), file=sys.stderr)
    if mapping is not None and not mapping.mapped:
        print(f"spikemem: the virtual mapping failed: {mapping.error}", file=sys.stderr)
        return 1
    return 0


def _print_spinnaker_table(est: Any, mapping: Any) -> None:
    b = est.board
    print(f"{est.model} on {b.name} ({b.description}: {b.chips} chips, {b.app_cores} application cores, "
          f"{b.timestep_ms:g} ms step)")
    mapped = mapping.cores_by_vertex if mapping is not None else {}
    print(f"{'population':<24} {'cell type':<17} {'neurons':>8} {'per core':>9} {'cores':>6}"
          + (f" {'mapped':>7}" if mapping is not None else ""))
    for p in est.populations:
        per_core = "all" if p.neurons_per_core is None else str(p.neurons_per_core)
        print(f"{p.name:<24} {p.cell_type:<17} {p.neurons:>8} {per_core:>9} {p.cores:>6}"
              + (f" {mapped.get(p.name, 0):>7}" if mapping is not None else ""))
    print(f"{'projection':<28} {'pre -> post':<40} {'synapses':>9}")
    for q in est.projections:
        print(f"{q.name[:28]:<28} {(q.pre + ' -> ' + q.post)[:40]:<40} {q.synapses:>9}")
    print(f"\n{len(est.populations)} populations, {est.neurons} neurons, {est.synapses} synapses: "
          f"{est.cores} cores on {est.chips} chip{'s' if est.chips != 1 else ''} (estimate)")
    if mapping is None:
        print("add --virtual to map, place and route it with sPyNNaker on a virtual board")
    elif mapping.mapped:
        chips = f"{mapping.chips} chip{'s' if mapping.chips != 1 else ''}"
        print(f"sPyNNaker mapped it on a virtual {b.name}: {mapping.cores} cores on {chips} "
              f"(mapping {mapping.map_s:.2f} s, {mapping.wall_s:.1f} s in all)")
    else:
        print(f"sPyNNaker could not map it on a virtual {b.name}")


if __name__ == "__main__":
    raise SystemExit(main())
