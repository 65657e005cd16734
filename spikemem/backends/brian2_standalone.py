"""Brian2 ``cpp_standalone`` programs compiled once per network structure, then reused.

A standalone program is C++ code generated for one network; compiling it takes
one to two minutes. Brian2 (>= 2.6) can set, when the program starts, every
non-read-only variable (initial values, parameters, synaptic weights) and the
values of a ``TimedArray`` (``device.run(run_args=...)``, the
``name=value`` / ``name=file`` arguments of the binary). So the backend builds
each network twice:

1. against :class:`Recorder`, a stand-in for the ``brian2`` module that
   imports nothing and records what the build hands to Brian2. Assignments to
   variables declared in a model (``g.v = ...``, ``s.w = ...``) and the values
   of ``TimedArray`` objects become *run arguments*; everything else
   (constructors with their sizes, model code and delays, ``connect`` arrays,
   pathway order, monitors, the run's duration) is the *structure*. The key of
   the program is a hash of the structure, the Brian2 version and the machine.
2. only when no program with that key is in the cache: against Brian2
   itself, compiled into a folder of the cache named by the key, with a
   manifest (``spikemem.json``) naming the files where the binary writes what
   the backend reads back, and the type and size of every run argument.

Every run, the first one included, starts the binary with all run arguments,
so a value baked into the compiled program is never what a run uses. A value
the run arguments cannot reach (a delay, a connection, a duration, a spike
source's capacity) is in the key: changing it builds another program.

The cache (``$SPIKEMEM_CACHE/brian2_standalone``, else
``$XDG_CACHE_HOME/spikemem/brian2_standalone``, else
``~/.cache/spikemem/brian2_standalone``) holds one folder per structure; delete
it at any time. Brian2 preferences changed by the user (compiler flags, OpenMP
threads) are not part of the key: clear the cache after changing them.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spikemem.errors import SpikememError

#: bump when the layout of a cache entry or the meaning of a run argument changes
FORMAT = 1
MANIFEST = "spikemem.json"
#: the name of the log the build appends to (one line per compile of the entry)
BUILD_LOG = "builds.log"


def default_cache_dir() -> Path:
    """Where compiled programs are kept unless ``standalone_dir`` says otherwise."""
    if os.environ.get("SPIKEMEM_CACHE"):
        return Path(os.environ["SPIKEMEM_CACHE"]) / "brian2_standalone"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "spikemem" / "brian2_standalone"


# -- the recording stand-in for brian2 ----------------------------------------

_DECLARATION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([^()]*?)\s*(\(([^)]*)\))?\s*$")


def declared_variables(model: str) -> dict[str, bool]:
    """``{name: shared}`` of the parameters a Brian2 model string declares (``v : 1 (shared)``);
    equations (``dv/dt = ...``) and subexpressions (``x = ... : 1``) declare none settable."""
    out = {}
    for line in model.splitlines():
        line = line.split("#")[0]
        if "=" in line:
            continue
        match = _DECLARATION.match(line)
        if match:
            flags = {f.strip() for f in (match.group(4) or "").split(",")}
            out[match.group(1)] = "shared" in flags
    return out


class Recorder:
    """The part of the ``brian2`` module a build uses, recording instead of simulating.

    Units are plain floats in ms (``ms == 1``), which is all a build does with
    them (``steps * clock.dt``). A method or attribute Brian2 has and this
    stand-in lacks fails loudly (AttributeError) rather than being guessed.
    """

    ms = 1.0
    second = 1000.0

    def __init__(self) -> None:
        self.structure: list[Any] = []
        self.run_args: dict[str, Any] = {}     # "object.variable" -> scalar or array
        self.sizes: dict[str, int] = {}        # "object.variable" -> number of values
        self.objects: dict[str, _Object] = {}

    def log(self, *entry: Any) -> None:
        self.structure.append(_canonical(entry))

    def _make(self, kind: str, args: tuple, kwargs: dict, size: int, model: str = "") -> "_Object":
        name = kwargs.get("name")
        if not name:
            raise SpikememError(f"a Brian2 {kind} of a standalone program needs an explicit name "
                                f"(the run arguments address variables by object name)")
        obj = _Object(self, kind, name, size, declared_variables(model))
        self.objects[name] = obj
        self.log(kind, args, kwargs)
        return obj

    def Clock(self, dt: float, name: str | None = None) -> "_Clock":  # noqa: N802 (brian2's name)
        self.log("Clock", dt, name)
        return _Clock(dt, name)

    def NeuronGroup(self, N: int, model: str, **kwargs: Any) -> "_Object":  # noqa: N802, N803
        return self._make("NeuronGroup", (N, model), kwargs, N, model)

    def SpikeGeneratorGroup(self, N: int, indices, times, **kwargs: Any) -> "_Object":  # noqa: N802, N803
        return self._make("SpikeGeneratorGroup", (N, indices, times), kwargs, N)

    def Synapses(self, source, target, model: str = "", **kwargs: Any) -> "_Object":  # noqa: N802
        return self._make("Synapses", (source, target, model), kwargs, 0, model)

    def SpikeMonitor(self, source, **kwargs: Any) -> "_Object":  # noqa: N802
        return self._make("SpikeMonitor", (source,), kwargs, 0)

    def StateMonitor(self, source, variables, **kwargs: Any) -> "_Object":  # noqa: N802
        return self._make("StateMonitor", (source, variables), kwargs, 0)

    def TimedArray(self, values, dt: float, name: str | None = None) -> "_Object":  # noqa: N802
        values = np.asarray(values, dtype=float)
        # the values are a run argument; their number is structure (the C++ array's size)
        obj = self._make("TimedArray", (values.shape, dt), {"name": name}, values.size)
        self.run_args[f"{name}.values"] = values
        self.sizes[f"{name}.values"] = values.size
        return obj

    def Network(self, *objects: Any) -> "_Object":  # noqa: N802
        self.log("Network", sorted(o.name for o in objects))
        return _Object(self, "Network", "network", 0, {})


@dataclass
class _Clock:
    dt: float
    name: str | None


class _Object:
    """A recorded Brian2 object: assignments to declared variables are run arguments."""

    def __init__(self, rec: Recorder, kind: str, name: str, size: int, variables: dict[str, bool]):
        object.__setattr__(self, "_rec", rec)
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "_size", size)
        object.__setattr__(self, "_variables", variables)

    def __setattr__(self, attr: str, value: Any) -> None:
        if attr in self._variables and not isinstance(value, str):
            key = f"{self.name}.{attr}"
            self._rec.run_args[key] = value
            self._rec.sizes[key] = 1 if self._variables[attr] else self._size
        else:  # active, code strings, ...: part of the program
            self._rec.log("set", self.name, attr, value)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        if attr in ("connect", "run_regularly", "run"):
            return lambda *args, **kwargs: self._call(attr, args, kwargs)
        if self._kind == "Synapses":  # a pathway (pre, post, plast, ...): its order is structure
            return _Pathway(self._rec, f"{self.name}.{attr}")
        raise AttributeError(f"the standalone recorder does not model '{self._kind}.{attr}'; "
                             f"extend spikemem.backends.brian2_standalone.Recorder")

    def _call(self, method: str, args: tuple, kwargs: dict) -> Any:
        self._rec.log("call", self.name, method, args, kwargs)
        if method == "connect":
            object.__setattr__(self, "_size", self._size + len(kwargs["i"]))
        if method == "run_regularly":
            return _Object(self._rec, "NetworkOperation", kwargs.get("name", ""), 0, {})
        return None

    def __len__(self) -> int:
        return self._size


class _Pathway:
    def __init__(self, rec: Recorder, path: str):
        object.__setattr__(self, "_rec", rec)
        object.__setattr__(self, "_path", path)

    def __setattr__(self, attr: str, value: Any) -> None:
        self._rec.log("set", self._path, attr, value)


def _canonical(value: Any) -> Any:
    """A JSON-able form of a build argument; arrays by dtype, shape and content hash."""
    if isinstance(value, (_Object, _Clock)):
        return ["object", value.name]
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value)
        return ["array", str(data.dtype), list(data.shape), hashlib.sha256(data.tobytes()).hexdigest()]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, float):
        return repr(value)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    raise TypeError(f"cannot put a {type(value).__name__} into a standalone program's key")


@dataclass
class Plan:
    """What one run of a standalone program needs: its key and its run arguments."""
    key: str
    run_args: dict[str, Any]
    sizes: dict[str, int]
    structure: list[Any] = field(repr=False)


def plan(build: Callable[[Recorder], Any]) -> tuple[Plan, Any]:
    """Record ``build(recorder)`` and return the :class:`Plan` and what ``build`` returned."""
    rec = Recorder()
    out = build(rec)
    header = {"format": FORMAT, "brian2": _brian2_version(), "python": sys.implementation.cache_tag,
              "machine": platform.machine(), "system": platform.system()}
    # the names and sizes of the run arguments are part of the program too
    blob = json.dumps([header, rec.structure, sorted(rec.sizes.items())], sort_keys=True,
                      separators=(",", ":")).encode()
    return Plan(hashlib.sha256(blob).hexdigest()[:32], rec.run_args, rec.sizes, rec.structure), out


def _brian2_version() -> str:
    try:
        return importlib.metadata.version("Brian2")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


# -- the cache ----------------------------------------------------------------

def lookup(cache: Path, key: str) -> Path | None:
    """The folder of the compiled program with ``key``, or None if it has not been built."""
    entry = Path(cache) / key
    return entry if (entry / MANIFEST).is_file() else None


def store(cache: Path, key: str, compile_into: Callable[[Path], dict[str, Any]]) -> Path:
    """Compile a program with ``compile_into(folder) -> manifest`` and put it in the cache.

    The program is built in a private folder and renamed into place, so a
    concurrent build of the same key or a build that failed never leaves a
    half-written entry behind.
    """
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".build-{key[:8]}-", dir=cache))
    try:
        manifest = compile_into(work)
        shutil.rmtree(work / "results", ignore_errors=True)
        for obj in work.rglob("*.o"):  # the binary is linked: object files only take space
            obj.unlink()
        (work / MANIFEST).write_text(json.dumps({"format": FORMAT, "key": key, **manifest}, indent=1))
        with open(work / BUILD_LOG, "a") as log:
            log.write(f"compiled {key}\n")
        entry = cache / key
        try:
            work.rename(entry)
        except OSError:  # another process stored the same program meanwhile: use that one
            if lookup(cache, key) is None:
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return cache / key


def execute(entry: Path, run_args: dict[str, Any], sizes: dict[str, int],
            outputs: list[str]) -> tuple[dict[str, np.ndarray], float]:
    """Run the program in ``entry`` with ``run_args``; return the arrays ``outputs`` ("object.variable")
    and the seconds of CPU time the program spent in its simulation loop (Brian2's last_run_info)."""
    manifest = json.loads((Path(entry) / MANIFEST).read_text())
    wanted = manifest["run_args"]
    if set(wanted) != set(run_args):
        raise SpikememError(f"{entry}: the cached program takes run arguments {sorted(wanted)}, this "
                            f"network gives {sorted(run_args)}; delete the folder to rebuild it")
    with tempfile.TemporaryDirectory(prefix="spikemem_run_", dir=scratch_dir()) as tmp:
        results = Path(tmp) / "results"
        results.mkdir()
        args = ["--results_dir", f"{results}{os.sep}"]
        for k, (name, value) in enumerate(sorted(run_args.items())):
            args.append(f"{name}={_argument(name, value, wanted[name], sizes[name], tmp, k)}")
        env = {**os.environ, **manifest["environment"]}
        done = subprocess.run([*manifest["command"], *args], cwd=entry, env=env, capture_output=True, text=True)
        if done.returncode != 0 or "Error reading" in done.stderr or "Cannot set" in done.stderr:
            raise SpikememError(f"the standalone program in {entry} failed (exit {done.returncode}): "
                                f"{(done.stdout + done.stderr)[-2000:]}")
        info = (results / "last_run_info.txt").read_text().split()
        if float(info[1]) < 1.0:  # the program stops early on SIGINT and still exits 0
            raise SpikememError(f"the standalone program in {entry} stopped after {float(info[1]):.0%} "
                                f"of the run (interrupted)")
        out = {}
        for name in outputs:
            spec = manifest["results"][name]
            out[name] = np.fromfile(results / spec["file"], dtype=spec["dtype"])
        return out, float(info[0])


def scratch_dir() -> str | None:
    """Where a run writes its arguments and the program its results: a RAM-backed folder
    (``/dev/shm``) where there is one, else the system's temporary folder.

    The program writes one file per array of the network (about 450 for CA3), and creating
    and deleting that many files on a disk takes longer than the whole run (0.4 s against
    0.03 s at 5x10 on the development machine).
    """
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


def _argument(name: str, value: Any, spec: dict[str, Any], size: int, tmp: str, k: int) -> str:
    """``value`` as the binary takes it: a number (every element) or the path of a raw file."""
    if size != spec["size"]:
        raise SpikememError(f"run argument {name}: {size} values, the cached program has {spec['size']}")
    array = np.asarray(value, dtype=spec["dtype"])
    if array.ndim == 0 or (array.size and np.all(array == array.flat[0])):
        scalar = array.flat[0] if array.size else None
        if scalar is not None and np.isfinite(scalar):
            # repr round-trips a double through the binary's atof
            return repr(float(scalar)) if np.issubdtype(array.dtype, np.floating) else str(int(scalar))
        array = np.full(spec["size"], scalar if scalar is not None else 0, dtype=spec["dtype"])
    if array.size != spec["size"]:
        raise SpikememError(f"run argument {name}: {array.size} values, the cached program has {spec['size']}")
    path = os.path.join(tmp, f"arg{k}")
    array.tofile(path)
    return path


def manifest(b2: Any, plan: Plan, outputs: list[str]) -> dict[str, Any]:
    """What the warm path needs from the Brian2 build just compiled (device still active):
    type and size of every run argument, result files, command and environment.

    Checks that Brian2 takes every run argument on the command line, so a variable it
    would refuse (read-only) or a size the recorder got wrong fails here, at the
    first build, and not as a silently ignored argument later.
    """
    device = b2.device
    variables = {f"{var.owner.name}.{var.name}": var for var in device.arrays}
    tables = {f"{ta.name}.values": ta for ta in device.timed_arrays}
    run_args = {}
    for name, size in sorted(plan.sizes.items()):
        if name in tables:
            values = np.asarray(tables[name].values)
            spec = {"dtype": str(values.dtype), "size": int(values.size)}
        elif name in variables:
            var = variables[name]
            if var.read_only:
                raise SpikememError(f"{name}: Brian2 cannot set this variable at run time (read-only)")
            spec = {"dtype": str(np.dtype(var.dtype)), "size": size}
            if not var.dynamic and var.size != size:
                raise SpikememError(f"{name}: Brian2 has {var.size} values, the recorder counted {size}")
        else:
            raise SpikememError(f"{name}: not a variable of the compiled program")
        run_args[name] = spec
    results = {}
    for name in outputs:
        var = variables[name]
        results[name] = {"file": device.get_array_filename(var), "dtype": str(np.dtype(var.dtype))}
    command = b2.prefs.devices.cpp_standalone.run_cmd_unix
    environment = {**b2.prefs["devices.cpp_standalone.run_environment_variables"],
                   **device.run_environment_variables}
    return {"run_args": run_args, "results": results,
            "command": [command] if isinstance(command, str) else list(command),
            "environment": {str(k): str(v) for k, v in environment.items()}}
