"""Export to SpiNNaker: a resource estimate, and sPyNNaker's own mapping on a virtual board.

    est = estimate(net, "spin5")       # no sPyNNaker needed
    est.cores, est.chips               # application cores, chips
    report = map_virtual(net, "spin5")  # sPyNNaker, in a child process
    report.mapped, report.cores, report.chips, report.map_s

Mapping places neurons and routes spikes; it does not integrate anything, so an
``IFCurrExp`` with the exact scheme maps as it is (:func:`scheme_note` says that
sPyNNaker would run it with the fixed step, which a *run* on ``pynn.spinnaker``
refuses unless the user names the ``integration`` approximation).

:func:`estimate` checks the description against the ``pynn.spinnaker`` engine
(:func:`spikemem.backends.pynn_plan.check`: neuron models, rules, the 1 ms step)
and against the board profile (:mod:`spikemem.hardware_profiles`), and raises
before any mapping, naming the population or projection that does not fit.

:func:`map_virtual` builds the same PyNN network as the backend does
(:func:`spikemem.backends.pynn_plan.plan` +
:func:`spikemem.backends.pynn_backend.build`) and runs sPyNNaker's partitioning,
placement and routing on a virtual board. sPyNNaker keeps global state for the
life of a process, so the mapping runs in a child process (this module,
``python -m spikemem.export.spinnaker DIR``), in a temporary directory that
holds its configuration and reports: nothing is written to ``$HOME`` or the
working directory.
"""
from __future__ import annotations

import importlib.util
import json
import math
import os
import pickle
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spikemem.backends.pynn_plan import check
from spikemem.errors import MissingEngine, ResourceError
from spikemem.hardware_profiles import BoardProfile, load_board
from spikemem.ir.connectivity import connect
from spikemem.ir.network import Network, Projection
from spikemem.ir.neurons import IFCurrExp

ENGINE = "pynn.spinnaker"
#: a static synapse is one 32-bit word of a synaptic row; each row has 3 header words
#: (spynnaker/pyNN/models/neuron/synapse_io.py: BYTES_PER_WORD, _N_HEADER_WORDS)
BYTES_PER_SYNAPSE, ROW_HEADER_BYTES = 4, 12
#: the log line sPyNNaker writes when a binary is missing on a virtual board
#: (AbstractSpinnakerBase._execute_graph_binary_gatherer): the mapping is then incomplete
_MISSING_BINARY = "Ignoring executable not found"


@dataclass(frozen=True)
class PopulationEstimate:
    """One population as sPyNNaker splits it."""
    name: str
    cell_type: str                  #: PyNN cell type ("IF_curr_exp" | "SpikeSourceArray")
    neurons: int
    neurons_per_core: int | None    #: None: the population is never split
    cores: int


@dataclass(frozen=True)
class ProjectionEstimate:
    """One projection: its synapses and the synaptic matrix it puts on each target core."""
    name: str
    pre: str
    post: str
    synapses: int
    bytes_per_core: int             #: rows padded to the longest, as sPyNNaker stores them (bytes)


@dataclass(frozen=True)
class Estimate:
    """What a description needs on a board, before any mapping."""
    model: str
    board: BoardProfile
    populations: tuple[PopulationEstimate, ...]
    projections: tuple[ProjectionEstimate, ...]

    @property
    def neurons(self) -> int:
        return sum(p.neurons for p in self.populations)

    @property
    def synapses(self) -> int:
        return sum(p.synapses for p in self.projections)

    @property
    def cores(self) -> int:
        """Application cores (delay extensions that sPyNNaker may add are not counted)."""
        return sum(p.cores for p in self.populations)

    @property
    def chips(self) -> int:
        """Chips at ``board.app_cores_per_chip`` cores each."""
        return math.ceil(self.cores / self.board.app_cores_per_chip)


@dataclass
class MappingReport:
    """sPyNNaker's mapping of a description on a virtual board."""
    estimate: Estimate
    mapped: bool                    #: partitioning, placement and routing finished without an error
    cores: int                      #: application cores placed (delay extensions included)
    chips: int                      #: chips holding them
    cores_by_vertex: dict[str, int] = field(default_factory=dict)  #: sPyNNaker vertex label -> cores
    map_s: float = 0.0              #: seconds in sPyNNaker's ``run`` (mapping, placement, routing)
    wall_s: float = 0.0             #: seconds of the whole child process (import, build, map)
    warnings: list[str] = field(default_factory=list)  #: WARNING lines of sPyNNaker's log
    error: str | None = None        #: why the mapping failed


def report_json(est: Estimate, mapping: MappingReport | None = None) -> dict[str, Any]:
    """The export report as JSON-able data (``cores_mapped``, ``chips``, ``mapped`` null without a mapping)."""
    return {"model": est.model, "board": est.board.name, "populations": len(est.populations),
            "neurons": est.neurons, "synapses": est.synapses, "cores_estimated": est.cores,
            "cores_mapped": None if mapping is None else mapping.cores,
            "chips": None if mapping is None else mapping.chips,
            "mapped": None if mapping is None else mapping.mapped}


# -- the estimate -----------------------------------------------------------------------------------------


def estimate(net: Network, board: BoardProfile | str | Path,
             approximations: tuple[str, ...] | list[str] = ()) -> Estimate:
    """Cores, chips and synapses ``net`` needs on ``board`` (a profile, name or path).

    Raises :class:`spikemem.errors.UnsupportedFeature` for what sPyNNaker cannot
    run (e.g. an ``LIF`` population), and :class:`spikemem.errors.ResourceError`
    naming the population or projection that does not fit the board.
    """
    board = load_board(board) if not isinstance(board, BoardProfile) else board
    check(net, ENGINE, _for_mapping(approximations))
    if net.dt != board.timestep_ms:
        raise ResourceError(f"dt: the network steps {net.dt} ms, board '{board.name}' runs "
                            f"{board.timestep_ms} ms ({board.source}): set dt: {board.timestep_ms}")
    pops = tuple(_population(net, k, board) for k in range(len(net.populations)))
    _check_fits(pops, board)
    by_name = {p.name: p for p in pops}
    projs = tuple(_projection(net, proj, by_name[proj.post]) for proj in net.projections)
    _check_sdram(net, projs, by_name, board)
    return Estimate(net.name, board, pops, projs)


def _for_mapping(approximations: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The integration scheme does not change the mapping (see the module docstring)."""
    return tuple(sorted(set(approximations) | {"integration"}))


def scheme_note(net: Network) -> str | None:
    """A note when sPyNNaker would integrate some neurons differently from the description."""
    exact = [p.name for p in net.populations if getattr(p.model, "integration", None) == "exact"]
    if not exact:
        return None
    return (f"note: {len(exact)} population(s) ({', '.join(exact[:3])}{', ...' if len(exact) > 3 else ''}) "
            "integrate exactly; sPyNNaker runs IF_curr_exp with the fixed step (the mapping is the same; "
            "a run on pynn.spinnaker needs --approximate integration)")


def _population(net: Network, k: int, board: BoardProfile) -> PopulationEstimate:
    pop = net.populations[k]
    # after check(): IFCurrExp, or a source (SpikeSource and Poisson are both SpikeSourceArrays in the plan)
    cell = "IF_curr_exp" if isinstance(pop.model, IFCurrExp) else "SpikeSourceArray"
    if cell not in board.neurons_per_core:
        raise ResourceError(f"populations[{k}] ({pop.name}): board profile {board.source} has no "
                            f"neurons_per_core.{cell}: add it")
    per_core = board.neurons_per_core[cell]
    cores = 1 if per_core is None else math.ceil(pop.size / per_core)
    if per_core is None and pop.size > board.max_neurons_per_core:
        raise ResourceError(
            f"populations[{k}] ({pop.name}): sPyNNaker puts a whole {cell} on one core, and a core holds at most "
            f"{board.max_neurons_per_core} neurons (board '{board.name}', {board.source}); this one has "
            f"{pop.size}: split it into populations of at most {board.max_neurons_per_core}")
    return PopulationEstimate(pop.name, cell, pop.size, per_core, cores)


def _check_fits(pops: tuple[PopulationEstimate, ...], board: BoardProfile) -> None:
    cores = sum(p.cores for p in pops)
    chips = math.ceil(cores / board.app_cores_per_chip)
    if cores <= board.app_cores and chips <= board.chips:
        return
    biggest = sorted(pops, key=lambda p: -p.cores)[:3]
    names = ", ".join(f"'{p.name}' ({p.neurons} neurons, {p.cores} cores)" for p in biggest)
    raise ResourceError(
        f"the network needs {cores} application cores ({chips} chips at {board.app_cores_per_chip} cores a chip); "
        f"board '{board.name}' has {board.app_cores} cores on {board.chips} chips ({board.source}). "
        f"Largest populations: {names}. Use a bigger board (--board) or smaller populations")


def _projection(net: Network, proj: Projection, post: PopulationEstimate) -> ProjectionEstimate:
    """The synapses :func:`connect` builds, and the bytes of their rows on one target core.

    The synapses come from :func:`connect` itself, so the estimate counts exactly
    what every backend builds (e.g. ``allow_self_connections=False`` drops i -> i
    also between two different populations).
    """
    n_pre = net.population(proj.pre).size
    per_core = post.neurons_per_core or post.neurons
    syn = connect(net, proj)
    n = len(syn.i)
    if n == 0:
        return ProjectionEstimate(proj.name, proj.pre, proj.post, 0, 0)
    # one row per (pre neuron, target core); sPyNNaker pads every row of a core to the longest
    longest = int(np.bincount(syn.i * post.cores + syn.j // per_core).max())
    return ProjectionEstimate(proj.name, proj.pre, proj.post, n,
                              n_pre * (ROW_HEADER_BYTES + BYTES_PER_SYNAPSE * longest))


def _check_sdram(net: Network, projs: tuple[ProjectionEstimate, ...], pops: dict[str, PopulationEstimate],
                 board: BoardProfile) -> None:
    for k, target in enumerate(net.populations):
        incoming = [p for p in projs if p.post == target.name]
        need = sum(p.bytes_per_core for p in incoming)
        if need > board.sdram_usable_bytes:
            worst = max(incoming, key=lambda p: p.bytes_per_core)
            j = next(i for i, p in enumerate(net.projections) if p.name == worst.name)
            raise ResourceError(
                f"projections[{j}] ({worst.name}): the synaptic matrices into population '{target.name}' need "
                f"{need / 2**20:.1f} MiB on each of its cores ({worst.name}: "
                f"{worst.bytes_per_core / 2**20:.1f} MiB), "
                f"more than a chip's {board.sdram_usable_bytes / 2**20:.1f} MiB (board '{board.name}', "
                f"{board.source}): use fewer or sparser connections into '{target.name}'")


# -- the virtual mapping ----------------------------------------------------------------------------------


def map_virtual(net: Network, board: BoardProfile | str | Path,
                approximations: tuple[str, ...] | list[str] = (), duration_ms: float = 10.0,
                timeout_s: float = 600.0) -> MappingReport:
    """Map ``net`` with sPyNNaker on a virtual ``board`` after :func:`estimate` (which raises first).

    ``duration_ms``: the run that triggers the mapping (nothing is simulated on a
    virtual board). The mapping runs in a child process with its own
    configuration and reports in a temporary directory.
    """
    est = estimate(net, board, approximations)
    if importlib.util.find_spec("spynnaker") is None:
        raise MissingEngine(ENGINE, "sPyNNaker", "spinnaker")
    with tempfile.TemporaryDirectory(prefix="spikemem-spinnaker-") as tmp:
        root = Path(tmp)
        env = _child_env(root, est.board)
        (root / "request.pkl").write_bytes(pickle.dumps(
            {"net": net, "approximations": _for_mapping(approximations), "duration_ms": duration_ms}))
        start = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, "-m", "spikemem.export.spinnaker", str(root)], env=env,
                                  cwd=root / "work", capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return MappingReport(est, False, 0, 0, wall_s=timeout_s,
                                 error=f"sPyNNaker did not finish the mapping in {timeout_s:g} s (timeout_s)")
        wall = time.perf_counter() - start
        log = proc.stdout + proc.stderr
        result_file = root / "result.json"
        result = json.loads(result_file.read_text()) if result_file.exists() else None
    warnings = [line.split("WARNING:", 1)[1].strip() for line in log.splitlines() if " WARNING: " in line]
    if result is None:
        tail = "\n".join(log.strip().splitlines()[-15:])
        return MappingReport(est, False, 0, 0, wall_s=wall, warnings=warnings,
                             error=f"the sPyNNaker process exited with status {proc.returncode}:\n{tail}")
    error = result["error"]
    if error is None and any(_MISSING_BINARY in w for w in warnings):
        error = "sPyNNaker did not find a binary for a vertex (see warnings); the mapping is incomplete"
    return MappingReport(est, error is None, result["cores"], result["chips"], result["cores_by_vertex"],
                         result["map_s"], wall, warnings, error)


def _child_env(root: Path, board: BoardProfile) -> dict[str, str]:
    """Environment of the mapping process: its own sPyNNaker configuration, caches and reports under ``root``.

    sPyNNaker reads exactly one user configuration from ``$XDG_CONFIG_DIRS[0]``,
    ``$XDG_CONFIG_HOME`` or ``$HOME`` (two raise ``TwoUserConfigsException``; none
    writes a template ``~/.spynnaker.cfg``): the child sees only ours. ``$HOME``
    is kept unless it holds a ``.spynnaker.cfg`` of the user's own.
    """
    for sub in ("cfg", "site", "work", "reports", "mpl"):
        (root / sub).mkdir()
    (root / "cfg" / ".spynnaker.cfg").write_text(
        "[Machine]\nvirtual_board = True\n"
        f"version = {board.spinnaker_version}\n"
        "[Reports]\n"
        f"default_report_file_path = {root / 'reports'}\n"
        "max_reports_kept = 1\n"
        "display_algorithm_timings = False\n"
        "[Mode]\nmode = Production\n")
    env = dict(os.environ)
    env.update(XDG_CONFIG_HOME=str(root / "cfg"), XDG_CONFIG_DIRS=str(root / "site"),
               MPLCONFIGDIR=str(root / "mpl"), PYTHONDONTWRITEBYTECODE="1")
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [env.get("PYTHONPATH")])])
    if (Path.home() / ".spynnaker.cfg").exists():
        (root / "home").mkdir()
        env["HOME"] = str(root / "home")
    return env


def _child(root: Path) -> int:
    """In the child process: build the plan on sPyNNaker, map it, write ``result.json`` to ``root``."""
    import pyNN.spiNNaker as sim
    from spynnaker.pyNN.data import SpynnakerDataView

    from spikemem.backends.pynn_backend import build
    from spikemem.backends.pynn_plan import plan as make_plan

    request = pickle.loads((root / "request.pkl").read_bytes())
    plan = make_plan(request["net"], ENGINE, request["approximations"])
    result: dict[str, Any] = {"error": None, "cores": 0, "chips": 0, "cores_by_vertex": {}, "map_s": 0.0}
    sim.setup(**plan.setup)
    try:
        build(sim, plan)
    except Exception as exc:  # noqa: BLE001 - reported by name, like a mapping failure
        sim.end()
        return _write_result(root, result, exc)
    start = time.perf_counter()
    try:
        sim.run(request["duration_ms"])  # on an error sPyNNaker shuts itself down ("Shutdown on exception")
    except Exception as exc:  # noqa: BLE001 - any sPyNNaker failure means "not mapped"
        return _write_result(root, result, exc)
    result["map_s"] = round(time.perf_counter() - start, 3)
    # system cores (SC&MP is not placed; extra monitors, packet gatherers) have no application vertex
    placed = [p for p in SpynnakerDataView.iterate_placemements() if p.vertex.app_vertex is not None]
    result["cores"], result["chips"] = len(placed), len({(p.x, p.y) for p in placed})
    for p in placed:
        label = p.vertex.app_vertex.label
        result["cores_by_vertex"][label] = result["cores_by_vertex"].get(label, 0) + 1
    sim.end()
    return _write_result(root, result)


def _write_result(root: Path, result: dict[str, Any], exc: Exception | None = None) -> int:
    if exc is not None:
        # its reports go with the temporary directory: drop the pointer to them
        result["error"] = f"{type(exc).__name__}: {str(exc).split(' Report written to')[0].strip()}"
    (root / "result.json").write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(Path(sys.argv[1])))
