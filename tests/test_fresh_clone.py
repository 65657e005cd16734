"""A fresh clone, with nothing beside it, runs the README's demo: the repository is self-contained.

The clone holds the committed HEAD only, so data the product needs must be committed.
"""
import fnmatch
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from conftest import REFERENCE, ROOT

# built by parts so that this file does not match its own check
OUTSIDE = (".." + "/shared", "/shared" + "/reference")


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True,
                          timeout=120).stdout


def in_git_checkout() -> bool:
    if shutil.which("git") is None:
        return False
    out = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=ROOT, capture_output=True, text=True)
    return out.returncode == 0 and Path(out.stdout.strip()).resolve() == ROOT


needs_git = pytest.mark.skipif(not in_git_checkout(), reason="needs git and a git checkout of spikemem")


def readme_demo() -> list[str]:
    """The spikemem arguments of the README's first command (``.ci/setup && .venv/bin/spikemem ...``)."""
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block, "README.md: no ```bash block"
    first = block.group(1).splitlines()[0].split("#")[0]
    setup, _, command = first.partition("&&")
    words = shlex.split(command)
    assert setup.strip() == ".ci/setup" and words[0] == ".venv/bin/spikemem", first
    return words[1:]


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    # an empty folder around the clone: nothing can be found next to it
    target = tmp_path_factory.mktemp("empty") / "spikemem"
    git("clone", "--quiet", str(ROOT), str(target))
    assert sorted(p.name for p in target.parent.iterdir()) == ["spikemem"]
    return target


def child_env(clone: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SPIKEMEM_CA3_REFERENCE"}
    env["PYTHONPATH"] = str(clone)
    return env


@needs_git
def test_the_child_imports_spikemem_from_the_clone(clone):
    out = subprocess.run([sys.executable, "-c", "import spikemem; print(spikemem.__file__)"], cwd=clone,
                         env=child_env(clone), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()).resolve().is_relative_to(clone.resolve()), out.stdout


@needs_git
def test_readme_demo_runs_in_a_fresh_clone(clone):
    args = readme_demo()
    assert args[:3] == ["cam", "--experiment", "functional"] and "--plot" in args, args
    png = clone / args[args.index("--plot") + 1]
    out = subprocess.run([sys.executable, "-m", "spikemem.cli", *args, "--json"], cwd=clone,
                         env=child_env(clone), capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    # the operations of the functional experiment, counted in the clone's own copy of the reference
    experiments = json.loads((clone / "spikemem/data/ca3/experiments.json").read_text())["experiments"]
    n_ops = len(experiments["functional_test"]["ops"])
    assert n_ops == 9
    assert (report["ops"], report["correct"], report["mismatches"]) == (n_ops, n_ops, [])
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_git
def test_python_dash_m_spikemem_is_the_spikemem_command(clone):
    out = subprocess.run([sys.executable, "-m", "spikemem", "--help"], cwd=clone, env=child_env(clone),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: spikemem ")


@needs_git
def test_no_tracked_file_points_outside_the_repository():
    hits = []
    for name in git("ls-files", "-z").split("\0"):
        path = ROOT / name
        if not name or not path.is_file():
            continue  # deleted in the working tree
        data = path.read_bytes()
        if b"\0" in data:
            continue  # binary
        text = data.decode("utf-8", errors="replace")
        hits += [f"{name}:{i}: {line.strip()}" for i, line in enumerate(text.splitlines(), 1)
                 if any(s in line for s in OUTSIDE)]
    assert hits == [], "files that point outside the repository:\n" + "\n".join(hits)


def test_packaged_reference_is_unchanged():
    # the checksums its README records when the files were copied from the upstream-derived reference
    table = re.findall(r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|$", (REFERENCE / "README.md").read_text(), re.M)
    assert len(table) == 6
    for name, digest in table:
        assert hashlib.sha256((REFERENCE / name).read_bytes()).hexdigest() == digest, \
            f"{REFERENCE / name} differs from the shipped reference (README.md checksums)"
    listed = {name for name, _ in table}
    present = {str(p.relative_to(REFERENCE)) for p in REFERENCE.rglob("*") if p.is_file()
               and p.suffix in (".json", ".md") and p.name != "README.md"}
    assert present == listed, "every reference file has a checksum in README.md"


def test_package_data_ships_the_whole_reference():
    # a non-editable install gets exactly what pyproject's package-data names
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["spikemem.data"]
    base = ROOT / "spikemem" / "data"
    files = [str(p.relative_to(base)) for p in REFERENCE.rglob("*") if p.is_file()]
    unshipped = [f for f in files if not any(fnmatch.fnmatch(f, pat) and f.count("/") == pat.count("/")
                                             for pat in patterns)]
    assert files and unshipped == []
    assert (base / "__init__.py").is_file(), "spikemem.data must be a package for package-data"
