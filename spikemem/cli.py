"""The ``spikemem`` command.

    spikemem cam --experiment functional|stress|applicability|random [--variant default|published]
                 [--backend brian2|torch|pynn.nest|pynn.brian2] [--target numpy|cython|cpp_standalone]
                 [--integration exact|fixed_step] [--threads N] [--approximate NAME]
                 [--n-cues N --n-bits M --ops K --seed S --spacing MS] [--ops-file FILE]
                 [--json] [--plot PATH]
    spikemem run MODEL --duration MS [--backend B] [--target T] [--set k=v ...] [--json] [--plot PATH]
    spikemem export MODEL --to spinnaker [--board spin5] [--virtual] [--json] [--set k=v ...]
                    [--approximate NAME ...]
    spikemem export MODEL --to pynn-script OUT.py [--simulator nest|spiNNaker] [--duration MS] [--set k=v ...]
                    [--approximate NAME ...]
    spikemem capacity [--memories ca3,willshaw,hopfield,dam] [--sizes 16x16,32x32] [--loads 0.25,0.5,0.75,1]
                      [--densities 0.1,0.25,0.5] [--fragments 1,2,4] [--n-fragments R] [--trials T] [--seed S]
                      [--cue-active A] [--variant V] [--spacing MS] [--backend B] [--target T] [--json] [--plot PATH]

Every flag is checked when it is parsed: a bad value, or a flag the chosen backend does
not take, exits with status 2 and a message naming the flag, the value and what is allowed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from spikemem.errors import SpikememError

#: the random sequence ``cam --experiment random`` plays unless told otherwise
RANDOM_DEFAULTS = {"--n-cues": 5, "--n-bits": 10, "--ops": 100, "--seed": 0, "--spacing": 8, "--density": None}
#: the engine option each engine flag sets (spikemem.backends.OPTIONS names what each backend takes)
FLAG_OPTIONS = {"--target": "target", "--threads": "threads", "--approximate": "approximations"}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit status (2: bad input, named; 141: stdout closed early)."""
    started = time.perf_counter()  # wall times cover the whole command: load, build and run
    parser = _parser()
    args = parser.parse_args(argv)
    args.started = started
    try:
        status = args.func(args)
        sys.stdout.flush()  # a closed pipe shows up here, inside the handler, not at interpreter exit
        return status
    except BrokenPipeError:
        # the reader went away (`spikemem ... --json | head`): stop quietly, as the Python docs
        # recommend, with the status of a process ended by SIGPIPE (128 + 13)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except (SpikememError, ValueError, FileNotFoundError) as exc:
        print(f"spikemem: error: {exc}", file=sys.stderr)
        return 2


# -- flag types (argparse names the flag and shows the value on a refusal) ----

def int_at_least(least: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``least``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {least}, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be an integer >= {least}, got {value}")
        return value
    parse.__name__ = f"integer >= {least}"  # argparse names the type in its messages
    return parse


positive_int = int_at_least(1)
nonnegative_int = int_at_least(0)


def positive_float(text: str) -> float:
    """A finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def fraction(text: str) -> float:
    """A number in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1], got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1], got {text}")
    return value


def spacing_ms(text: str) -> int:
    """Whole ms between operations, at least the longest operation of the CA3 protocol."""
    from spikemem.tasks.cam import MIN_SPACING_MS

    least = max(MIN_SPACING_MS.values())
    value = positive_int(text)
    if value < least:
        raise argparse.ArgumentTypeError(f"must be an integer >= {least} (ms: the longest operation), got {value}")
    return value


def comma_list(item: Callable[[str], Any], what: str) -> Callable[[str], tuple[Any, ...]]:
    """An argparse type: a comma-separated list of ``item`` values (at least one)."""
    def parse(text: str) -> tuple[Any, ...]:
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts:
            raise argparse.ArgumentTypeError(f"must be a comma-separated list of {what}, got {text!r}")
        try:
            return tuple(item(p) for p in parts)
        except (ValueError, argparse.ArgumentTypeError) as exc:
            raise argparse.ArgumentTypeError(f"must be a comma-separated list of {what}, got {text!r} ({exc})") from None
    parse.__name__ = f"list of {what}"
    return parse


def _size(text: str) -> tuple[int, int]:
    n, sep, m = text.lower().partition("x")
    if not sep or not n.isdigit() or not m.isdigit() or int(n) < 1 or int(m) < 1:
        raise ValueError(f"{text!r} is not N_CUESxN_BITS with both >= 1")
    return int(n), int(m)


def _memory(text: str) -> str:
    from spikemem.tasks.capacity import MEMORIES

    if text not in MEMORIES:
        raise ValueError(f"{text!r} is not one of {', '.join(MEMORIES)}")
    return text


def _load(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise ValueError(f"{text} is not > 0")
    return value


def _density(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise ValueError(f"{text} is not in (0, 1]")
    return value


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show ``(default: X)`` after every help string that does not state its default itself,
    except for switches and flags without a default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "(default" in text or "; default" in text or action.default in (None, False, [], argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("spikemem")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        import spikemem
        return getattr(spikemem, "__version__", "unknown")


def _parser() -> argparse.ArgumentParser:
    from spikemem.backends.pynn_plan import APPROXIMATIONS
    from spikemem.tasks.cam import MIN_SPACING_MS

    parser = argparse.ArgumentParser(prog="spikemem", description="Spiking neuromorphic memory toolkit.",
                                     formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"spikemem {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    cam = sub.add_parser("cam", help="store and recall memories in the CA3 content-addressable memory",
                         formatter_class=_HelpFormatter)
    cam.add_argument("--experiment", choices=["functional", "stress", "applicability", "random"],
                     help="a paper experiment, or a random sequence (default: functional)")
    cam.add_argument("--ops-file", metavar="FILE", help="run your own operations (JSON, the op format of experiments.json)")
    cam.add_argument("--variant", default="default", choices=["default", "published"],
                     help="default: spikemem's exact memory; published: the SpiNNaker network")
    _engine_args(cam, APPROXIMATIONS)
    cam.add_argument("--integration", choices=["exact", "fixed_step"],
                     help="override the integration scheme of every neuron (default: the model's)")
    # the sequence flags default to None so that a flag the chosen sequence would ignore is refused
    cam.add_argument("--n-cues", type=positive_int, metavar="N",
                     help=f"cues, an integer >= 1 (random and --ops-file only; default: {RANDOM_DEFAULTS['--n-cues']}, "
                          f"or the ops file's)")
    cam.add_argument("--n-bits", type=positive_int, metavar="M",
                     help=f"content bits, an integer >= 1 (random and --ops-file only; default: "
                          f"{RANDOM_DEFAULTS['--n-bits']}, or the ops file's)")
    cam.add_argument("--ops", type=positive_int, metavar="K",
                     help=f"operations of a random sequence, an integer >= 1 (default: {RANDOM_DEFAULTS['--ops']})")
    cam.add_argument("--seed", type=nonnegative_int, metavar="S",
                     help=f"seed of a random sequence, an integer >= 0 (default: {RANDOM_DEFAULTS['--seed']})")
    cam.add_argument("--spacing", type=spacing_ms, metavar="MS",
                     help=f"ms between operations of a random sequence, an integer >= {max(MIN_SPACING_MS.values())} "
                          f"(default: {RANDOM_DEFAULTS['--spacing']})")
    cam.add_argument("--density", type=fraction, metavar="D",
                     help="fraction of the bits set in each learned content of a random sequence, in (0, 1] "
                          "(default: drawn per learn from U(0.1, 0.5))")
    cam.set_defaults(func=_cmd_cam)

    run = sub.add_parser("run", help="simulate any description", formatter_class=_HelpFormatter)
    run.add_argument("model", help="a .yaml/.yml/.json description, or a model name in models/ (e.g. ca3_cam)")
    run.add_argument("--duration", type=positive_float, required=True, metavar="MS",
                     help="simulated time (ms), > 0 and a whole number of the model's steps")
    run.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                     help="override a declared param (repeatable)")
    _engine_args(run, APPROXIMATIONS)
    run.set_defaults(func=_cmd_run)

    export = sub.add_parser("export", help="export a description: SpiNNaker resources and mapping, "
                                           "or a PyNN script", formatter_class=_HelpFormatter)
    export.add_argument("model", help="a .yaml/.yml/.json description, or a model name in models/ (e.g. ca3_cam)")
    export.add_argument("--to", nargs="+", required=True, metavar="TARGET",
                        help="'spinnaker', or 'pynn-script OUT.py'")
    export.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a declared param (repeatable)")
    export.add_argument("--approximate", action="append", default=[], choices=list(APPROXIMATIONS),
                        metavar="NAME", help=f"accept a named engine approximation (repeatable): "
                                             f"{', '.join(APPROXIMATIONS)}")
    # the target-specific flags default to None so that one given to the other target is refused
    export.add_argument("--board", help="spinnaker: a board name (spin3, spin5) or profile file (default: spin5)")
    export.add_argument("--virtual", action="store_true",
                        help="spinnaker: also map, place and route with sPyNNaker on a virtual board")
    export.add_argument("--json", action="store_true", help="spinnaker: print one JSON object instead of a table")
    export.add_argument("--simulator", choices=["nest", "spiNNaker"],
                        help="pynn-script: the PyNN simulator the script imports (default: nest)")
    export.add_argument("--duration", type=positive_float, metavar="MS",
                        help="pynn-script: simulated time (ms, > 0; default: the model's 'duration' param)")
    export.set_defaults(func=_cmd_export)

    from spikemem.tasks.capacity import SweepConfig
    defaults = SweepConfig()
    cap = sub.add_parser("capacity", help="capacity of the CA3 memory beside Willshaw, Hopfield and a dense "
                                          "associative memory, on the same patterns", formatter_class=_HelpFormatter)
    cap.add_argument("--memories", type=comma_list(_memory, "memories"), default=defaults.memories,
                     help=f"memories to compare, comma-separated (default: {','.join(defaults.memories)}; "
                          f"ca3 is the spiking network, the others plain numpy)")
    cap.add_argument("--sizes", type=comma_list(_size, "sizes N_CUESxN_BITS"), default=defaults.sizes,
                     help="memory sizes, n_cues x n_bits, comma-separated (default: "
                          + ",".join(f"{n}x{m}" for n, m in defaults.sizes) + ")")
    cap.add_argument("--loads", type=comma_list(_load, "loads > 0"), default=defaults.loads,
                     help="stored pairs per cue neuron, comma-separated (<= 1 for one-hot cues; default: "
                          + ",".join(f"{x:g}" for x in defaults.loads) + ")")
    cap.add_argument("--densities", type=comma_list(_density, "densities in (0, 1]"), default=defaults.densities,
                     help="fraction of content bits set, comma-separated (default: "
                          + ",".join(f"{x:g}" for x in defaults.densities) + ")")
    cap.add_argument("--fragments", type=comma_list(positive_int, "fragment sizes >= 1"), default=defaults.fragments,
                     help="active bits per recall-by-content fragment, comma-separated (default: "
                          + ",".join(map(str, defaults.fragments)) + ")")
    cap.add_argument("--n-fragments", type=positive_int, default=defaults.n_fragments, metavar="R",
                     help="fragments per fragment size and pattern set, an integer >= 1")
    cap.add_argument("--trials", type=positive_int, default=defaults.trials, metavar="T",
                     help="pattern sets per point, an integer >= 1")
    cap.add_argument("--seed", type=nonnegative_int, default=defaults.seed, metavar="S",
                     help=f"seed of the patterns, an integer >= 0 (default: {defaults.seed})")
    cap.add_argument("--cue-active", type=positive_int, default=defaults.cue_active, metavar="A",
                     help="active units per cue: 1 is one-hot (the CA3's code); more is a distributed code "
                          "for the numpy memories")
    # the CA3-only flags default to None so that one given without ca3 is refused, not ignored
    cap.add_argument("--variant", choices=["default", "published"],
                     help="ca3 only: the CA3 model (default: default)")
    cap.add_argument("--spacing", type=spacing_ms, metavar="MS",
                     help=f"ca3 only: ms between operations, an integer >= {max(MIN_SPACING_MS.values())} "
                          f"(default: {defaults.ca3.spacing})")
    _engine_args(cap, APPROXIMATIONS)
    for action in cap._actions:  # the shared engine flags, said of this command
        if action.dest == "plot":
            action.help = "write the capacity curves (PNG)"
        elif action.dest == "backend":
            action.help = "ca3 only: the engine"
    cap.set_defaults(func=_cmd_capacity)
    return parser


def _engine_args(p: argparse.ArgumentParser, approximations: dict[str, str]) -> None:
    from spikemem.backends import BACKENDS

    # engine options default to None so that only the flags a user gave reach the backend
    # (and a flag the backend does not take is refused, not ignored)
    p.add_argument("--backend", default="brian2", choices=list(BACKENDS), help="the engine")
    p.add_argument("--target", choices=["numpy", "cython", "cpp_standalone"],
                   help="brian2 only: Brian2 code generation target (default: numpy)")
    p.add_argument("--threads", type=positive_int, metavar="N",
                   help="pynn.nest only: NEST threads, an integer >= 1 (default: 1)")
    p.add_argument("--approximate", action="append", choices=list(approximations), metavar="NAME",
                   help=f"pynn.* only: accept a named approximation (repeatable): {', '.join(approximations)} "
                        f"(default: none)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--plot", metavar="PATH", help="write a raster plot (PNG)")


def _backend_options(args: argparse.Namespace) -> dict[str, Any]:
    """The engine options the user gave, checked against what ``--backend`` takes."""
    from spikemem.backends import OPTIONS

    given = {"--target": args.target, "--threads": args.threads,
             "--approximate": tuple(args.approximate) if args.approximate else None}
    given = {flag: value for flag, value in given.items() if value is not None}
    allowed = OPTIONS[args.backend]
    wrong = [flag for flag in given if FLAG_OPTIONS[flag] not in allowed]
    if wrong:
        takes = [flag for flag, option in FLAG_OPTIONS.items() if option in allowed]
        owners = "; ".join(f"{flag} is for: {', '.join(b for b, names in OPTIONS.items() if FLAG_OPTIONS[flag] in names)}"
                           for flag in wrong)
        raise ValueError(f"--backend {args.backend} takes no {' or '.join(wrong)} "
                         f"(it takes: {', '.join(takes) or 'no engine flag'}); {owners}")
    return {FLAG_OPTIONS[flag]: value for flag, value in given.items()}


def _effective_options(backend: str, given: dict[str, Any]) -> dict[str, Any]:
    """Every engine option ``backend`` takes from the flags: the given value, else the backend's default."""
    import importlib
    import inspect

    from spikemem.backends import BACKENDS, OPTIONS

    params = inspect.signature(importlib.import_module(BACKENDS[backend][0]).compile).parameters
    return {name: given.get(name, params[name].default) for name in OPTIONS[backend] if name in FLAG_OPTIONS.values()}


def _integration(net: Any) -> list[str]:
    """The integration schemes the network's neurons use (read from the built network)."""
    return sorted({pop.model.integration for pop in net.populations if hasattr(pop.model, "integration")})


def _cmd_cam(args: argparse.Namespace) -> int:
    from spikemem.tasks import cam

    options = _backend_options(args)
    sequence = {"--n-cues": args.n_cues, "--n-bits": args.n_bits, "--ops": args.ops, "--seed": args.seed,
                "--spacing": args.spacing, "--density": args.density}
    if args.ops_file:
        if args.experiment is not None:
            raise ValueError(f"--experiment {args.experiment} and --ops-file {args.ops_file}: give one of them")
        _refuse(sequence, ("--ops", "--seed", "--spacing", "--density"), "--ops-file runs the file's own operations (only --n-cues and "
                                                                 "--n-bits apply to it)")
        ops, n_cues, n_bits = cam.load_ops_file(args.ops_file, args.n_cues, args.n_bits)
        experiment = "ops-file"
    elif args.experiment == "random":
        given = {flag: value for flag, value in sequence.items() if value is not None}
        n_cues, n_bits, n_ops, seed, spacing, density = (given.get(flag, RANDOM_DEFAULTS[flag])
                                                          for flag in sequence)
        ops = cam.random_ops(n_cues, n_bits, n_ops, seed, spacing, density)
        experiment = "random"
    else:
        experiment = args.experiment or "functional"
        _refuse(sequence, tuple(sequence), f"--experiment {experiment} is a paper experiment, with a fixed "
                                           f"size and sequence (--n-cues, --n-bits, --ops, --seed, --spacing and --density "
                                           f"shape --experiment random)")
        ops, n_cues, n_bits = cam.load_experiment(experiment)
    used = _effective_options(args.backend, options)
    run = cam.run_ops(ops, n_cues, n_bits, variant=args.variant, backend=args.backend,
                      integration=args.integration, progress=not args.json, **options)
    if args.plot:
        _plot_cam(run, args.plot)
    approximations = used.get("approximations")
    report = {
        "experiment": experiment, "variant": args.variant, "backend": args.backend,
        "target": used.get("target"), "threads": used.get("threads"),
        "approximations": None if approximations is None else list(approximations),
        "integration": _integration(run.network),
        "n_cues": n_cues, "n_bits": n_bits, "ops": len(ops), "correct": run.correct,
        "by_op": run.score_by_op(), "mismatches": run.mismatches(),
        "sim_ms": run.sim_ms, "wall_s": round(time.perf_counter() - args.started, 3), "results": run.results(),
    }
    if args.plot:
        report["plot"] = args.plot
    if args.json:
        print(json.dumps(report))
    else:
        _print_cam_table(run, report)
    return 0


def _refuse(given: dict[str, Any], flags: Sequence[str], why: str) -> None:
    """Refuse the ``flags`` of ``given`` that the user set (not None): the run would ignore them."""
    named = [flag if given[flag] is True else f"{flag} {given[flag]}" for flag in flags if given[flag] is not None]
    if named:
        raise ValueError(f"{', '.join(named)}: {why}")


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
    raster(run.result, marks=marks if len(run.ops) <= 60 else (),
           title=f"CA3 memory: {run.correct}/{len(run.ops)} operations right "
                 f"(L = learn, C = recall by cue, F = recall by content)")
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
    import numpy as np

    import spikemem
    from spikemem.ir.neurons import SpikeSource

    options = _backend_options(args)
    net = spikemem.load(_model_path(args.model), overrides=_overrides(args.set))
    steps = args.duration / net.dt
    if abs(steps - round(steps)) > 1e-9:
        raise ValueError(f"--duration {args.duration:g}: must be a whole number of the model's steps "
                         f"(dt = {net.dt:g} ms), e.g. {max(1, round(steps)) * net.dt:g}")
    silent = [p.name for p in net.populations
              if isinstance(p.model, SpikeSource) and not any(len(t) for t in p.model.spike_times)]
    if silent:
        print(f"spikemem: note: SpikeSource population{'s' if len(silent) > 1 else ''} {', '.join(silent)} "
              f"{'have' if len(silent) > 1 else 'has'} no spike times in {args.model}, so {'they send' if len(silent) > 1 else 'it sends'} "
              f"nothing (a task protocol such as `spikemem cam` fills them)", file=sys.stderr)
    result = spikemem.compile(net, backend=args.backend, **options).run(args.duration)
    rates = {name: float(len(tr.times) / tr.size / (args.duration / 1000.0)) for name, tr in result.spikes.items()}

    def nested(a: np.ndarray) -> list:
        """An array as nested lists, NaN as None (JSON null)."""
        a = np.asarray(a, dtype=float)
        return np.where(np.isnan(a), None, a).tolist()

    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from spikemem.plotting import raster
        raster(result, title=f"{net.name}: {args.duration:g} ms on {args.backend}")
        plt.tight_layout()
        plt.savefig(args.plot, dpi=120)
        plt.close()
    wall_s = time.perf_counter() - args.started
    if args.json:
        report = {
            "model": args.model, "backend": args.backend, "options": _effective_options(args.backend, options),
            "duration_ms": args.duration, "dt_ms": net.dt, "params": net.params, "wall_s": round(wall_s, 3),
            "spike_counts": {name: int(len(tr.times)) for name, tr in result.spikes.items()},
            "rates_hz": {k: round(v, 3) for k, v in rates.items()},
            "spikes": {name: {"indices": tr.indices.tolist(), "times_ms": tr.times.tolist()}
                       for name, tr in result.spikes.items()},
            "state": {pop: {var: nested(values) for var, values in variables.items()}
                      for pop, variables in result.state.items()},
            "weights": {proj: nested(w) for proj, w in result.weights.items()},
        }
        if args.plot:
            report["plot"] = args.plot
        print(json.dumps(report))
        return 0
    print(f"{net.name}: {args.duration:g} ms on {args.backend} in {wall_s:.2f} s")
    print(f"{'population':<24} {'size':>6} {'spikes':>8} {'rate (Hz)':>10}")
    for pop in net.populations:
        if pop.name in result.spikes:
            print(f"{pop.name:<24} {pop.size:>6} {len(result.spikes[pop.name].times):>8} {rates[pop.name]:>10.2f}")
    if args.plot:
        print(f"raster written to {args.plot}")
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
    if target == "pynn-script":
        _refuse({"--board": args.board, "--virtual": args.virtual or None, "--json": args.json or None},
                ("--board", "--virtual", "--json"), "flags of --to spinnaker only")
    else:
        _refuse({"--simulator": args.simulator, "--duration": args.duration}, ("--simulator", "--duration"),
                "flags of --to pynn-script only")
    net = spikemem.load(_model_path(args.model), overrides=_overrides(args.set))
    if target == "pynn-script":
        from spikemem.export.pynn_script import write_script

        simulator = args.simulator or "nest"
        path = write_script(net, rest[0], simulator=simulator, duration=args.duration,
                            approximations=tuple(args.approximate))
        print(f"{net.name}: PyNN script for {simulator} written to {path}")
        return 0
    from spikemem.export import spinnaker

    est = spinnaker.estimate(net, args.board or "spin5", args.approximate)
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


def _cmd_capacity(args: argparse.Namespace) -> int:
    from spikemem.tasks import capacity

    options = _backend_options(args)
    if "ca3" not in args.memories:
        _refuse({"--variant": args.variant, "--spacing": args.spacing,
                 **{flag: options[name] for flag, name in FLAG_OPTIONS.items() if name in options}},
                ("--variant", "--spacing", *(f for f, n in FLAG_OPTIONS.items() if n in options)),
                "flags of the ca3 memory, which --memories leaves out")
    ca3 = capacity.Ca3Options(variant=args.variant or "default", backend=args.backend,
                              spacing=args.spacing or capacity.Ca3Options().spacing, engine=options)
    config = capacity.SweepConfig(memories=args.memories, sizes=args.sizes, loads=args.loads,
                                  densities=args.densities, fragments=args.fragments, n_fragments=args.n_fragments,
                                  trials=args.trials, seed=args.seed, cue_active=args.cue_active, ca3=ca3)
    problems = config.problems()
    if problems:  # each problem starts with its config field, the flag's name with underscores
        raise ValueError("; ".join("--" + p.split(":", 1)[0].replace("_", "-") + ":" + p.split(":", 1)[1]
                                   for p in problems))
    report = capacity.sweep(config, progress=not args.json)
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        capacity.plot_curves(report["rows"])
        plt.savefig(args.plot, dpi=120)
        plt.close()
        report["plot"] = args.plot
    report["wall_s"] = round(time.perf_counter() - args.started, 3)
    if args.json:
        print(json.dumps(report))
        return 0
    frags = [str(f) for f in config.fragments]
    print(f"capacity: exact recalls of {len(config.memories)} memories on the same patterns "
          f"({config.trials} pattern set{'s' if config.trials > 1 else ''} per point, cues of {config.cue_active} "
          f"active unit{'s' if config.cue_active > 1 else ''})")
    print(f"{'memory':<9} {'size':>9} {'K':>5} {'density':>7} {'by cue':>7} "
          + " ".join(f"{'frag ' + f:>7}" for f in frags) + f" {'bits/syn':>8} {'(mi)':>6}")
    for r in report["rows"]:
        print(f"{r['memory']:<9} {str(r['n_cues']) + 'x' + str(r['n_bits']):>9} {r['n_pairs']:>5} {r['density']:>7g} "
              f"{r['recall_cue']:>7.3f} " + " ".join(f"{r['recall_content'][f]:>7.3f}" for f in frags)
              + f" {r['bits_per_synapse_exact']:>8.3f} {r['bits_per_synapse_mi']:>6.3f}")
    print(f"\nby cue, frag f: fraction of exact recalls (by content from f-bit fragments); bits/syn: "
          f"bits of exactly recalled contents per synapse ((mi): Palm's mutual-information measure); "
          f"{report['wall_s']:.1f} s")
    if args.plot:
        print(f"curves written to {args.plot}")
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
