"""Mutation testing of the IR and the backends' translation code: how much of it the suite pins down.

mutmut (installed into the running venv if missing, version pinned below) makes small
changes to every function of ``spikemem/ir/``, ``spikemem/backends/pynn_plan.py`` and the
module-level (pure Python) functions of ``spikemem/backends/brian2_backend.py``
(``_stdp_code``, ``_delivery``, ``_source_arrays``, ``_included``, ``compile``): an operator
swapped, a number changed, a string altered, an argument dropped. Each change is a
*mutant*; the fast tests that call the mutated function then run against it. A mutant that
makes a test fail is *killed*; one that passes every test *survived*: either the tests miss
a behaviour, or the change does not change behaviour (an *equivalent* mutant, listed with
the reason in ``EQUIVALENT`` below).

Only fast tests run (``TESTS``: seconds in all, no hypothesis search, no CA3 runs, no
exported scripts on NEST), so a run takes about 30-40 minutes on two cores. It never
touches the checkout: it copies the repository (the working tree, or ``--rev`` a commit)
into a temporary folder, mutmut writes its ``mutants/`` there, and everything runs under
``nice -n 19`` with one worker. Not part of CI (too slow).

    .venv/bin/python benchmarks/mutation_testing.py --label after          # the working tree
    .venv/bin/python benchmarks/mutation_testing.py --label before --rev HEAD~3
    .venv/bin/python benchmarks/mutation_testing.py --only spikemem/ir/expr.py   # one module
    .venv/bin/python benchmarks/mutation_testing.py --label without --leave-out tests/test_ir_mutants.py
    .venv/bin/python benchmarks/mutation_testing.py --workdir /tmp/m --keep    # stopped at --budget-min?
    .venv/bin/python benchmarks/mutation_testing.py --workdir /tmp/m --keep --resume   # then go on

Writes (merging by ``--label``) ``benchmarks/results/mutation.json``: per module the
killed / total mutants, the kill rate and every surviving mutant with ``file:line``, the
original and the mutated line, and the reason where it is a known equivalent.
"""
from __future__ import annotations

import argparse
import ast
import datetime
import fnmatch
import importlib.metadata
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MUTMUT_VERSION = "3.8.1"  # works with Python 3.11 and pytest 9; installed here, not a project dependency

#: what is mutated (globs over the repository)
MUTATE = ["spikemem/ir/*.py", "spikemem/backends/pynn_plan.py", "spikemem/backends/brian2_backend.py"]
#: mutmut mutant-name patterns run: brian2_backend only its module-level functions (``x_`` prefix;
#: the Brian2Simulation methods build and run engine objects, covered by the slow equivalence tests)
RUN = ["spikemem.ir.*", "spikemem.backends.pynn_plan.*", "spikemem.backends.brian2_backend.x_*"]

#: the fast tests: test file -> the test functions left out ("skip", slow ones) or the only ones
#: run ("only", for files that are mostly slow engine runs), by name prefix. A file missing
#: from the copied revision is skipped. Measured on 2 cores: every test kept takes under 1 s
#: except a few on NEST (1-3 s).
TESTS: dict[str, tuple[str, list[str]]] = {
    # spikemem/ir
    "tests/test_ir_files.py": ("skip", []),
    "tests/test_ir_roundtrip.py": ("skip", ["test_random_network_roundtrips"]),  # hypothesis: 70 s
    "tests/test_validation_rules.py": ("skip", []),
    "tests/test_description_input.py": ("skip", []),
    "tests/test_neuron_dynamics.py": ("skip", []),
    "tests/test_stdp.py": ("skip", []),
    "tests/test_backend_misc.py": ("skip", ["test_two_simulations_do_not_interfere"]),  # 8 s
    "tests/test_host_pair_rule.py": ("skip", []),
    "tests/test_ir_mutants.py": ("skip", []),
    # spikemem/backends/pynn_plan.py and the brian2 translation helpers
    "tests/test_pynn_backend.py": ("only", [  # the rest are CA3 runs on NEST and pyNN.brian2, 2-90 s each
        "test_published_variant_is_refused_on_nest_by_name", "test_gate_must_be_driven_by_a_spike_source",
        "test_spinnaker_native_rule_conversion_and_sharing", "test_inputs_in_the_first_step_get_a_lead_step"]),
    "tests/test_nest_plasticity.py": ("only", [  # the rest run NEST for 2-10 s
        "test_without_the_approximation_pair_rules_run_on_the_host", "test_what_nest_stdp_cannot_run",
        "test_one_tau_minus_per_population", "test_nest_stdp_applies_neither_change",
        "test_plastic_spike_in_flight_carries_the_weight_of_its_step_on_brian2"]),
    "tests/test_export_pynn_script.py": ("skip", [  # exported scripts run on NEST in a subprocess: 4-7 s
        "test_nest_script_gives_brian2_spikes_event_for_event",
        "test_large_connection_lists_go_to_the_npz_file_and_the_script_runs"]),
    "tests/test_backend_mutants.py": ("skip", []),
}

#: mutmut exit codes -> verdict; a mutant that times out or crashes the test process is detected
DETECTED = {"killed", "timeout", "segfault"}

#: surviving mutants that cannot change behaviour: (file, original line contains, mutated line
#: contains, why). Matched on the text of the lines, so they stay valid when line numbers move.
EQUIVALENT: list[tuple[str, str, str, str]] = [
    ("spikemem/ir/io.py", "_dataclass(Network, data, \"\")", "_dataclass(Network, data, None)",
     "the top-level path is only tested for truth ('' and None are both false), and Network has no "
     "problems() that would print it"),
    ("spikemem/ir/io.py", "if path else msg", "if (path) or True else msg",
     "no caller passes an empty path: the top level is checked to be a mapping before it is read, and "
     "every field below it has a name"),
    ("spikemem/ir/io.py", 'encoding="utf-8"', 'encoding="UTF-8"', "codec names are case-insensitive"),
    ("spikemem/ir/io.py", 'encoding="utf-8"', "encoding=None",
     "the locale's encoding is UTF-8 wherever the suite runs (Python 3.11 coerces the C locale to UTF-8), "
     "so the test of a non-ASCII file cannot tell them apart"),
    ("spikemem/ir/io.py", "json.dumps(data, indent=1)", "indent=2",
     "layout only: the same data, read back to the same network"),
    ("spikemem/ir/io.py", "yaml.safe_dump(", "sort_keys=None", "None and False both keep the field order"),
    ("spikemem/ir/io.py", "yaml.safe_dump(", "default_flow_style=None, width=",
     "layout only (line width): the same data, read back to the same network"),
    ("spikemem/ir/io.py", "yaml.safe_dump(", "default_flow_style=None, )",
     "layout only (line width): the same data, read back to the same network"),
    ("spikemem/ir/connectivity.py", "c = proj.connector", "c = None",
     "synapse_count's shortcuts (one_to_one, from_list, all_to_all) give what the general path _pairs "
     "counts, so skipping them changes only the speed"),
    ("spikemem/ir/connectivity.py", "rng.random((len(t), size)) < model.rate", "rng.random((len(t), size)) <= ",
     "differs only when a uniform draw equals p exactly (probability about 2**-53 per draw)"),
    ("spikemem/ir/io.py", "return self.fail(path, f\"must be a mapping, got", "",
     "the reader's mapping branch reads only Network.params, which from_dict removes before reading and "
     "type_problems replaces by {}; type_problems keeps only the problems, never the value read"),
    ("spikemem/ir/io.py", "out = {str(k): self.read(typing.get_args(tp)[1], v,", "",
     "the reader's mapping branch reads only Network.params, always as {} (see above)"),
    ("spikemem/ir/io.py", "return _FAIL if _FAIL in out.values() else out", "",
     "the reader's mapping branch reads only Network.params, always as {}, in type_problems, which returns "
     "only the problems collected by fail(), and this returns without one"),
    ("spikemem/ir/io.py", "ok = False", "ok = None", "None is as false as False for the `if ok:` that reads it"),
    ("spikemem/ir/io.py", "if path else name, \"missing required field\")", "if (path) or True else name",
     "only the top-level Network is read with an empty path, and it has no required field"),
    ("spikemem/ir/io.py", "if f.split(\".\")[0].split(\"[\")[0] not in failed]", "",
     "a field that could not be read takes its default, and only plain fields (the gate's population) have "
     "defaults with problems; dotted or indexed problems come from fields that were read"),
    ("spikemem/ir/io.py", "raise TypeError(f\"no reader for {tp}\")", "raise TypeError(None)",
     "raised only for a field type the IR does not have (a bug in the IR, never reached by a file)"),
    ("spikemem/ir/io.py", "if item_tp is float and all(type(v) in (int, float) for v in value):",
     "all(type(None) in (int, float)", "turns the fast path for number lists off: every list is read item by "
     "item, with the same result"),
    ("spikemem/ir/io.py", "return self._number(float, value, path)", "_number(None, value, path)",
     "_number reads every type but int as a float"),
    *[("spikemem/ir/io.py", 'getattr(o, "__name__", str(o))', after,
       "every member of the IR's unions has a kind or a __name__ (float; list[float] answers 'list'), so the "
       "last fallback is never used") for after in ('getattr(o, "__name__", None)', 'getattr(o, "__name__", )',
                                                   'getattr(o, "__name__", str(None))')],
    ("spikemem/ir/plasticity.py", "else 1e30", "else 1e+30", "the same float (mutmut's +1 on 1e30)"),
    ("spikemem/ir/plasticity.py", "before = s.w.copy() if (len(pre) or len(post)) else None", "or True",
     "copying the weights in a step without events only costs time: they compare equal, so step() still "
     "returns False"),
    ("spikemem/ir/plasticity.py", ".astype(float)", ".astype(None)", "numpy's default dtype is float64"),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--label", default="current", help="key of this run in the JSON (e.g. before, after)")
    ap.add_argument("--rev", help="mutate this git revision instead of the working tree (e.g. HEAD)")
    ap.add_argument("--only", nargs="*", default=None,
                    help="mutate only these files (paths as in MUTATE, globs allowed)")
    ap.add_argument("--budget-min", type=float, default=40.0,
                    help="stop mutmut after this many minutes; unchecked mutants are reported as such")
    ap.add_argument("--resume", action="store_true",
                    help="continue a stopped run in --workdir (kept with --keep): only its unchecked mutants")
    ap.add_argument("--leave-out", nargs="*", default=[], metavar="TEST_FILE",
                    help="delete these test files from the copy (to measure the suite without them)")
    ap.add_argument("--out", default=str(HERE / "results" / "mutation.json"))
    ap.add_argument("--workdir", help="copy the repository here (default: a new temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the working copy (mutants/ and the log)")
    args = ap.parse_args(argv)

    os.nice(19 - os.nice(0))  # whatever starts from here (mutmut, pytest) runs at the lowest priority
    _ensure_mutmut()
    if args.resume and not (args.workdir and (Path(args.workdir) / "mutants").is_dir()):
        ap.error("--resume needs the --workdir of a run kept with --keep")
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="spikemem-mutation-"))
    start = time.perf_counter()
    try:
        if args.resume:
            previous = json.loads((work / "run.json").read_text())
            rev, tests, names = previous["revision"], previous["tests"], _unchecked(work)
            args.leave_out = previous.get("left_out", [])
            print(f"resuming: {len(names)} unchecked mutants", flush=True)
        else:
            rev = _copy_repository(work, args.rev)
            for path in args.leave_out:
                (work / path).unlink()
            tests, names = _write_config(work, args.only), RUN
            (work / "run.json").write_text(json.dumps({"revision": rev, "tests": tests, "left_out": args.leave_out}))
        finished = _run_mutmut(work, names, args.budget_min * 60.0) if names else True
        report = _collect(work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    report = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "revision": rev,
        "tool": f"mutmut {importlib.metadata.version('mutmut')}",
        "tests": tests,
        "test_files_left_out": args.leave_out,
        "finished": finished,
        "wall_s": round(time.perf_counter() - start, 1),
        **report,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(out.read_text()) if out.exists() else {}
    data[args.label] = report
    out.write_text(json.dumps(data, indent=1) + "\n")
    _print_summary(report, out, args.label)
    if args.keep:
        print(f"working copy kept in {work} (mutmut log: {work / 'mutmut.log'})")
    return 0


def _ensure_mutmut() -> None:
    try:
        version = importlib.metadata.version("mutmut")
    except importlib.metadata.PackageNotFoundError:
        version = None
    if version != MUTMUT_VERSION:
        print(f"installing mutmut=={MUTMUT_VERSION} into {sys.prefix}", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"mutmut=={MUTMUT_VERSION}",
                        "-c", str(ROOT / "constraints.txt")], check=True)


def _copy_repository(work: Path, rev: str | None) -> str:
    """Copy the repository into ``work``; return what was copied (a commit, or the working tree)."""
    work.mkdir(parents=True, exist_ok=True)
    if rev:
        sha = subprocess.run(["git", "rev-parse", rev], cwd=ROOT, check=True, capture_output=True,
                             text=True).stdout.strip()
        archive = subprocess.run(["git", "archive", sha], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(work)], input=archive, check=True)
        return sha
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True)
    if listed.returncode == 0:
        files = [f for f in listed.stdout.decode().split("\0") if f]
        for f in files:
            if (ROOT / f).is_file():
                (work / f).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / f, work / f)
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        return f"working tree at {head.stdout.strip()}"
    shutil.copytree(ROOT, work, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".venv", ".git", "mutants", "__pycache__", ".hypothesis"))
    return "working tree"


def _write_config(work: Path, only: list[str] | None) -> dict[str, list[str]]:
    """mutmut's configuration in the copy (setup.cfg); return the tests it runs."""
    selection, tests = [], {}
    for path, (how, prefixes) in TESTS.items():
        if not (work / path).exists():
            continue
        names = _test_names(work / path)
        matched = [n for n in names if any(n.startswith(p) for p in prefixes)]
        left_out = matched if how == "skip" else [n for n in names if n not in matched]
        selection.append(path)
        selection += [f"--deselect={path}::{name}" for name in left_out]
        tests[path] = sorted(left_out)
    lines = ["[mutmut]", "source_paths = spikemem", "only_mutate ="]
    lines += [f"    {p}" for p in (only or MUTATE)]
    lines += ["also_copy =", "    models", "    hardware", "pytest_add_cli_args_test_selection ="]
    lines += [f"    {s}" for s in selection]
    lines += ["pytest_add_cli_args =", "    -p", "    no:cacheprovider"]
    (work / "setup.cfg").write_text("\n".join(lines) + "\n")
    return {path: {"left_out": left_out} for path, left_out in tests.items()}


def _test_names(path: Path) -> list[str]:
    """The test functions of a test file."""
    return [n.name for n in ast.parse(path.read_text()).body
            if isinstance(n, ast.FunctionDef) and n.name.startswith("test")]


def _unchecked(work: Path) -> list[str]:
    """The mutants of a stopped run that have no verdict yet."""
    return [name for meta in sorted((work / "mutants" / "spikemem").rglob("*.py.meta"))
            for name, code in json.loads(meta.read_text())["exit_code_by_key"].items()
            if code is None and any(fnmatch.fnmatch(name, p) for p in RUN)]


def _run_mutmut(work: Path, names: list[str], budget_s: float) -> bool:
    """Run mutmut on the mutants ``names`` (patterns) in ``work``, one worker at nice 19;
    False if it was stopped at the budget (mutmut keeps the verdicts it has)."""
    mutmut = Path(sys.executable).parent / "mutmut"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["MPLBACKEND"] = "Agg"
    with open(work / "mutmut.log", "wb") as log:
        proc = subprocess.Popen(["nice", "-n", "19", str(mutmut), "run", "--max-children", "1", *names],
                                cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            proc.wait(timeout=budget_s)
            return True
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGINT)  # mutmut stops its workers and saves what it has
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            return False


def _collect(work: Path) -> dict:
    """Per-module verdicts from mutmut's meta files, with every surviving mutant located."""
    cwd = os.getcwd()
    os.chdir(work)  # mutmut's helpers read mutants/ and setup.cfg from the working directory
    try:
        from mutmut.mutation.diff_apply import get_diff_for_mutant
        from mutmut.stats import status_by_exit_code

        modules = {}
        for meta in sorted(Path("mutants/spikemem").rglob("*.py.meta")):
            path = str(meta.relative_to("mutants"))[: -len(".meta")]
            codes = json.loads(meta.read_text())["exit_code_by_key"]
            codes = {k: v for k, v in codes.items() if any(fnmatch.fnmatch(k, p) for p in RUN)}
            if not codes:
                continue
            verdicts = {k: status_by_exit_code[v] for k, v in codes.items()}
            counts: dict[str, int] = {}
            for v in verdicts.values():
                counts[v] = counts.get(v, 0) + 1
            checked = sum(n for v, n in counts.items() if v != "not checked")
            killed = sum(counts.get(v, 0) for v in DETECTED)
            survivors = [dict(_locate(path, k, get_diff_for_mutant(k, path=path)), verdict=v)
                         for k, v in sorted(verdicts.items(), key=lambda kv: _mutant_order(kv[0]))
                         if v not in DETECTED and v != "not checked"]
            survivors.sort(key=lambda s: (s["line"], s["mutant"]))
            explained = sum(1 for s in survivors if "equivalent" in s)
            modules[path] = {
                "killed": killed, "total": checked,
                "kill_rate": round(killed / checked, 4) if checked else None,
                "kill_rate_counting_equivalents": round((killed + explained) / checked, 4) if checked else None,
                "verdicts": counts, "not_checked": counts.get("not checked", 0),
                "survived": survivors,
            }
    finally:
        os.chdir(cwd)
    groups = {}
    for group in ("spikemem/ir", "spikemem/backends/pynn_plan.py", "spikemem/backends/brian2_backend.py"):
        members = [m for p, m in modules.items() if p.startswith(group)]
        killed, total = sum(m["killed"] for m in members), sum(m["total"] for m in members)
        explained = sum(1 for m in members for s in m["survived"] if "equivalent" in s)
        if total:
            groups[group] = {"killed": killed, "total": total, "kill_rate": round(killed / total, 4),
                             "survived": total - killed, "equivalent": explained,
                             "kill_rate_counting_equivalents": round((killed + explained) / total, 4)}
    return {"groups": groups, "modules": modules}


def _mutant_order(name: str) -> tuple[str, int]:
    head, _, number = name.rpartition("__mutmut_")
    return head, int(number) if number.isdigit() else 0


def _locate(path: str, mutant: str, diff: str) -> dict:
    """``file:line`` of a mutant in the original source, and its original and mutated line.

    mutmut's diff shows the mutated function with line 1 at its ``def``; the def is found in
    the original file (inside its class for a method, ``xǁClassǁmethod`` in the mutant name).
    """
    lines = diff.splitlines()
    removed = [ln[1:].strip() for ln in lines if ln.startswith("-") and not ln.startswith("---")]
    added = [ln[1:].strip() for ln in lines if ln.startswith("+") and not ln.startswith("+++")]
    offset = None  # line of the first change, counted from the def (0 = the def line)
    for ln in lines:
        if ln.startswith("@@"):
            offset = int(ln.split()[1].lstrip("-").split(",")[0]) - 1
        elif offset is not None and ln.startswith(("-", "+")):
            break
        elif offset is not None:
            offset += 1
    def_line = _def_line(Path(path), mutant.rpartition("__mutmut_")[0].rpartition(".")[2])
    line = def_line + offset if def_line is not None and offset is not None else None
    entry = {"mutant": mutant, "line": f"{path}:{line}" if line else path,
             "original": " / ".join(removed), "mutated": " / ".join(added)}
    for file, before, after, why in EQUIVALENT:  # an empty `after` matches every mutant of that line
        if file == path and before in entry["original"] and after in entry["mutated"]:
            entry["equivalent"] = why
            break
    return entry


def _def_line(path: Path, mangled: str) -> int | None:
    """The line of the def of ``x_function`` or ``xǁClassǁmethod`` in ``path``."""
    parts = mangled.split("ǁ")[1:] if "ǁ" in mangled else [mangled[2:]]
    body = ast.parse(path.read_text()).body
    node = None
    for name in parts:
        node = next((n for n in body if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                     and n.name == name), None)
        if node is None:
            return None
        body = node.body
    return node.lineno if node is not None else None


def _print_summary(report: dict, out: Path, label: str) -> None:
    print(f"mutation testing ({report['tool']}, {report['revision']}), {report['wall_s']:.0f} s"
          f"{'' if report['finished'] else ', stopped at the budget'}")
    for path, m in report["modules"].items():
        rate = f"{100 * m['kill_rate']:.1f}%" if m["kill_rate"] is not None else "-"
        print(f"  {path:42s} {m['killed']:4d} / {m['total']:4d} killed  {rate:>6s}"
              f"  ({len(m['survived'])} survived, {m['not_checked']} not checked)")
    for group, g in report["groups"].items():
        print(f"  {group:42s} {g['killed']:4d} / {g['total']:4d} killed  {100 * g['kill_rate']:.1f}%"
              f"  ({g['equivalent']} of {g['survived']} survivors explained as equivalent)")
    print(f"written to {out} under '{label}'")


if __name__ == "__main__":
    sys.exit(main())
