"""The CA3 content-addressable memory protocol: operations in, recalled memories out.

An operation starts at ``t`` (ms, on the 1 ms grid) and drives the input
populations (see ``spikemem/data/ca3/MODEL.md`` section 6):

- ``learn(cue, content)``: the cue neuron and every active content neuron spike
  at t, t+1, t+2; the output shows cue and content at t+5 and t+7.
- ``recall_cue(cue)``: the cue neuron spikes at t; the cue is echoed at t+5 and
  the stored content appears at t+6.
- ``recall_content(fragment)``: the fragment's neurons spike at t; the fragment
  is echoed at t+5 and every cue whose content shares at least one active bit
  with it appears at t+6.

A learn also sends one spike on ``INlearn`` at t, the learning signal that
the default variant's gated plasticity listens to (the published network has
no such population and gets none).
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from spikemem.errors import DescriptionError
from spikemem.ir.io import load
from spikemem.ir.network import Network
from spikemem.ir.neurons import IFCurrExp, SpikeSource

OpKind = Literal["learn", "recall_cue", "recall_content"]
OP_KINDS = ("learn", "recall_cue", "recall_content")
HOLD_MS = {"learn": 3, "recall_cue": 1, "recall_content": 1}
MIN_SPACING_MS = {"learn": 7, "recall_cue": 6, "recall_content": 6}
#: output latencies (ms after t): when the cue outputs and the content outputs are read
CUE_LATENCY = {"learn": (5, 7), "recall_cue": (5,), "recall_content": (6,)}
CONTENT_LATENCY = {"learn": (5, 7), "recall_cue": (6,), "recall_content": (5,)}
EXPERIMENTS = {"functional": "functional_test", "stress": "stress_test",
               "applicability": "applicability_state_map"}
VARIANTS = {"default": "ca3_cam.yaml", "published": "ca3_cam_published.yaml"}


@dataclass(frozen=True)
class Op:
    """One operation: ``content`` is the full content (learn) or the fragment (recall_content)."""
    t: int
    op: OpKind
    cue: int | None = None
    content: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Output:
    """What the memory returns for an operation: cue indices and content bits (0/1)."""
    cues: tuple[int, ...]
    content: tuple[int, ...]

    def as_dict(self) -> dict[str, list[int]]:
        return {"cues": list(self.cues), "content": list(self.content)}


class SymbolicCAM:
    """The ideal memory the network must reproduce (MODEL.md section 7)."""

    def __init__(self, n_cues: int, n_bits: int):
        self.n_cues, self.n_bits = n_cues, n_bits
        self.stored: dict[int, tuple[int, ...]] = {}

    def apply(self, op: Op) -> Output:
        """Perform ``op`` and return the ideal output."""
        zeros = (0,) * self.n_bits
        if op.op == "learn":
            self.stored[op.cue] = op.content
            return Output((op.cue,), op.content)
        if op.op == "recall_cue":
            return Output((op.cue,), self.stored.get(op.cue, zeros))
        on = [j for j, bit in enumerate(op.content) if bit]
        matches = tuple(sorted(c for c, bits in self.stored.items() if any(bits[j] for j in on)))
        return Output(matches, op.content)


# -- operation sequences ------------------------------------------------------

#: the CA3 reference shipped in the package (provenance: data/ca3/README.md)
PACKAGED_REFERENCE = Path(__file__).resolve().parents[1] / "data" / "ca3"


def reference_dir() -> Path:
    """The CA3 reference folder: ``$SPIKEMEM_CA3_REFERENCE`` if set, else the packaged
    ``spikemem/data/ca3`` (experiments.json, recorded_spinnaker/, MODEL.md, PORTING.md)."""
    env = os.environ.get("SPIKEMEM_CA3_REFERENCE")
    if env:
        return Path(env)
    return PACKAGED_REFERENCE


def load_experiment(name: str) -> tuple[list[Op], int, int]:
    """Ops, n_cues and n_bits of a paper experiment (``functional``, ``stress``, ``applicability``)."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment '{name}' (one of: {', '.join(EXPERIMENTS)}, random)")
    path = reference_dir() / "experiments.json"
    if not path.exists():
        fix = ("unset SPIKEMEM_CA3_REFERENCE or point it at a folder holding experiments.json"
               if os.environ.get("SPIKEMEM_CA3_REFERENCE") else
               "the package is incomplete: reinstall spikemem, or restore spikemem/data/ca3 from the repository")
        raise FileNotFoundError(f"{path}: the CA3 reference is missing (it ships as "
                                f"{PACKAGED_REFERENCE / 'experiments.json'}); {fix}")
    exp = json.loads(path.read_text())["experiments"][EXPERIMENTS[name]]
    ops = parse_ops(exp["ops"], exp["n_cues"], exp["n_bits"], f"{path}:{EXPERIMENTS[name]}")
    return ops, exp["n_cues"], exp["n_bits"]


def load_ops_file(path: str | Path, n_cues: int | None = None,
                  n_bits: int | None = None) -> tuple[list[Op], int, int]:
    """Read a user's operations: a JSON list of ops, or an object with ``ops``
    (and optionally ``n_cues``, ``n_bits``), in the op format of experiments.json."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise DescriptionError(["no such file"], str(path)) from None
    except json.JSONDecodeError as exc:
        raise DescriptionError([f"line {exc.lineno}: malformed JSON: {exc.msg}"], str(path)) from None
    ops = data if isinstance(data, list) else data.get("ops") if isinstance(data, dict) else None
    if not isinstance(ops, list):
        raise DescriptionError(["must be a list of operations or an object with 'ops'"], str(path))
    meta = data if isinstance(data, dict) else {}
    n_cues = n_cues or meta.get("n_cues")
    n_bits = n_bits or meta.get("n_bits")
    if not n_cues or not n_bits:
        raise DescriptionError(["n_cues and n_bits: give them in the file or with --n-cues/--n-bits"],
                               str(path))
    return parse_ops(ops, int(n_cues), int(n_bits), str(path)), int(n_cues), int(n_bits)


def parse_ops(raw: list[Any], n_cues: int, n_bits: int, source: str) -> list[Op]:
    """Check and convert ops given as dicts ``{t_ms, op, cue, content}``; every problem at once."""
    problems, ops = [], []
    for k, item in enumerate(raw):
        path = f"ops[{k}]"
        if not isinstance(item, dict):
            problems.append(f"{path}: must be an object with t_ms, op, cue, content")
            continue
        kind, t, cue, content = item.get("op"), item.get("t_ms"), item.get("cue"), item.get("content")
        if kind not in OP_KINDS:
            problems.append(f"{path}.op: must be one of {', '.join(OP_KINDS)}, got {kind!r}")
            continue
        if not isinstance(t, int) or isinstance(t, bool) or t < 0:
            problems.append(f"{path}.t_ms: must be a whole number of ms >= 0, got {t!r}")
        if kind in ("learn", "recall_cue") and not (isinstance(cue, int) and 0 <= cue < n_cues):
            problems.append(f"{path}.cue: must be a cue index in [0, {n_cues}), got {cue!r}")
        if kind in ("learn", "recall_content"):
            if not (isinstance(content, list) and len(content) == n_bits
                    and all(b in (0, 1) for b in content)):
                problems.append(f"{path}.content: must be a list of {n_bits} bits (0/1), got {content!r}")
            elif not any(content):
                problems.append(f"{path}.content: needs at least one active bit")
        if not problems or not problems[-1].startswith(path):
            ops.append(Op(t, kind, cue if kind != "recall_content" else None,
                          tuple(content) if kind != "recall_cue" else None))
    for k in range(1, len(ops)):
        prev, cur = ops[k - 1], ops[k]
        if cur.t - prev.t < MIN_SPACING_MS[prev.op]:
            problems.append(f"ops[{k}].t_ms: {cur.t} is {cur.t - prev.t} ms after a {prev.op}; "
                            f"the memory needs at least {MIN_SPACING_MS[prev.op]} ms")
    if problems:
        raise DescriptionError(problems, source)
    return ops


def random_ops(n_cues: int, n_bits: int, n_ops: int = 100, seed: int = 0,
               spacing: int = 8, density: float | None = None) -> list[Op]:
    """A valid random sequence: learns on random cues (so overwrites happen), recalls
    by cue (never-learned cues included) and by content with 1-3-bit and larger fragments.

    ``spacing`` (ms) separates consecutive operations. Each learned content sets each bit
    with a probability drawn per learn from U(0.1, 0.5), or with ``density`` (0 < density
    <= 1) when given; one random bit is always set. With ``density`` the random draws are
    the same, so only the contents' bits change.
    """
    if spacing < max(MIN_SPACING_MS.values()):
        raise ValueError(f"spacing must be >= {max(MIN_SPACING_MS.values())} ms, got {spacing}")
    if density is not None and not 0.0 < density <= 1.0:
        raise ValueError(f"density must be in (0, 1] (the fraction of bits set in a learned content), "
                         f"got {density}")
    rng = np.random.default_rng(seed)
    ops: list[Op] = []
    for k in range(n_ops):
        t = k * spacing
        kind = "learn" if k == 0 else rng.choice(OP_KINDS, p=[0.35, 0.3, 0.35])
        if kind == "learn":
            draws, p_bit = rng.random(n_bits), rng.uniform(0.1, 0.5)  # in this order: seeds keep their sequences
            bits = draws < (p_bit if density is None else density)
            bits[rng.integers(n_bits)] = True
            ops.append(Op(t, "learn", int(rng.integers(n_cues)), tuple(int(b) for b in bits)))
        elif kind == "recall_cue":
            ops.append(Op(t, "recall_cue", int(rng.integers(n_cues))))
        else:
            size = int(rng.integers(1, 4)) if rng.random() < 0.75 else \
                int(rng.integers(1, max(2, n_bits // 2) + 1))
            on = rng.choice(n_bits, size=min(size, n_bits), replace=False)
            ops.append(Op(t, "recall_content", None, tuple(int(j in on) for j in range(n_bits))))
    return ops


# -- running on a network -----------------------------------------------------

def model_path(variant: str) -> Path:
    """The model file of a CA3 variant (``default`` or ``published``)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant '{variant}' (one of: {', '.join(VARIANTS)})")
    path = Path(__file__).resolve().parents[2] / "models" / VARIANTS[variant]
    if not path.exists():
        raise FileNotFoundError(f"{path}: model file missing (run from a spikemem checkout)")
    return path


def build_network(ops: list[Op], n_cues: int, n_bits: int, variant: str = "default",
                  integration: str | None = None) -> Network:
    """The CA3 network of ``variant`` at this size, its inputs set to play ``ops``.

    ``integration`` (``exact`` or ``fixed_step``) overrides the scheme of every neuron.
    """
    net = load(model_path(variant), overrides={"n_cues": n_cues, "n_bits": n_bits})
    if integration is not None:
        if integration not in ("exact", "fixed_step"):
            raise ValueError(f"integration must be 'exact' or 'fixed_step', got {integration!r}")
        for pop in net.populations:
            if isinstance(pop.model, IFCurrExp):
                pop.model.integration = integration
    cue_times, cont_times, learn_times = stimulus(ops, n_cues, n_bits)
    net.population("INcue").model.spike_times = cue_times
    net.population("INcont").model.spike_times = cont_times
    if any(p.name == "INlearn" for p in net.populations):
        net.population("INlearn").model.spike_times = [learn_times]
    return net  # spikemem.compile validates it, stimulus included


def stimulus(ops: list[Op], n_cues: int, n_bits: int) -> tuple[list[list[float]], list[list[float]], list[float]]:
    """Spike times (ms) of INcue (per cue), INcont (per bit) and the learning signal."""
    cue: list[list[float]] = [[] for _ in range(n_cues)]
    cont: list[list[float]] = [[] for _ in range(n_bits)]
    learn: list[float] = []
    for op in ops:
        steps = [float(op.t + h) for h in range(HOLD_MS[op.op])]
        if op.cue is not None:
            cue[op.cue] += steps
        if op.content is not None:
            for j, bit in enumerate(op.content):
                if bit:
                    cont[j] += steps
        if op.op == "learn":
            learn.append(float(op.t))
    return cue, cont, learn


def decode(ops: list[Op], out_cue: dict[int, list[int]], out_cont: dict[int, list[int]],
           n_bits: int, shift_cue: int = 0, shift_cont: int = 0) -> list[Output]:
    """The output of each op, read from OUTcue/OUTcont spikes ({step: indices}) at the op's latencies.

    ``shift_cue``/``shift_cont`` (ms) are added to the latencies for a model whose outputs
    come later (its params ``read_shift_OUTcue``/``read_shift_OUTcont``, see :func:`read_shifts`).
    """
    outputs = []
    for op in ops:
        cues = sorted({i for d in CUE_LATENCY[op.op] for i in out_cue.get(op.t + d + shift_cue, [])})
        bits = {i for d in CONTENT_LATENCY[op.op] for i in out_cont.get(op.t + d + shift_cont, [])}
        outputs.append(Output(tuple(cues), tuple(int(j in bits) for j in range(n_bits))))
    return outputs


def read_shifts(net: Network) -> tuple[int, int]:
    """ms a model's OUTcue and OUTcont outputs come after the protocol's latencies."""
    return int(net.params.get("read_shift_OUTcue", 0)), int(net.params.get("read_shift_OUTcont", 0))


@dataclass
class CamRun:
    """Outcome of a sequence of operations on the network."""
    ops: list[Op]
    expected: list[Output]
    got: list[Output]
    sim_ms: float
    wall_s: float
    result: Any = field(repr=False)
    network: Network = field(repr=False)

    @property
    def correct(self) -> int:
        return sum(e == g for e, g in zip(self.expected, self.got))

    def mismatches(self) -> list[dict[str, Any]]:
        """``{index, op, expected, got}`` for every op whose output is not the ideal one."""
        return [{"index": k, "t_ms": op.t, "op": op.op, "expected": e.as_dict(), "got": g.as_dict()}
                for k, (op, e, g) in enumerate(zip(self.ops, self.expected, self.got)) if e != g]

    def results(self) -> list[dict[str, Any]]:
        """Per op: what the network returned (content bits, or recalled cue indices)."""
        return [{"index": k, "t_ms": op.t, "op": op.op, "cue": op.cue,
                 "content": None if op.content is None else list(op.content),
                 "got": list(g.cues) if op.op == "recall_content" else list(g.content)}
                for k, (op, g) in enumerate(zip(self.ops, self.got))]

    def score_by_op(self) -> dict[str, str]:
        """``{op kind: "right/total"}``."""
        out = {}
        for kind in OP_KINDS:
            pairs = [(e, g) for op, e, g in zip(self.ops, self.expected, self.got) if op.op == kind]
            if pairs:
                out[kind] = f"{sum(e == g for e, g in pairs)}/{len(pairs)}"
        return out


def run_ops(ops: list[Op], n_cues: int, n_bits: int, variant: str = "default",
            backend: str = "brian2", integration: str | None = None, progress: bool = False,
            **options: Any) -> CamRun:
    """Play ``ops`` on the CA3 network and compare every output with the ideal memory."""
    from spikemem.backends import compile as compile_net

    net = build_network(ops, n_cues, n_bits, variant, integration)
    shifts = read_shifts(net)
    sim_ms = float((ops[-1].t if ops else 0) + 10 + max(shifts))
    start = time.perf_counter()
    sim = compile_net(net, backend=backend, **options)
    result = _run_in_chunks(sim, sim_ms, progress and options.get("target") != "cpp_standalone")
    wall = time.perf_counter() - start
    memory = SymbolicCAM(n_cues, n_bits)
    expected = [memory.apply(op) for op in ops]
    got = decode(ops, result.spikes["OUTcue"].by_step(net.dt), result.spikes["OUTcont"].by_step(net.dt),
                 n_bits, *shifts)
    return CamRun(ops, expected, got, sim_ms, wall, result, net)


def run_batch(op_lists: list[list[Op]], n_cues: int, n_bits: int, variant: str = "default",
              integration: str | None = None, backend: str = "torch", **options: Any) -> list[CamRun]:
    """Play several sequences at once, one trial each, on a backend that runs batches (``torch``).

    Each :class:`CamRun` is what :func:`run_ops` gives for its sequence alone (the
    tests check it), except that every trial runs as long as the longest sequence
    needs (``sim_ms``) and ``wall_s`` is the time of the whole batch.
    """
    from spikemem.backends import compile as compile_net

    if not op_lists:
        raise ValueError("op_lists: give at least one sequence of operations")
    net = build_network(op_lists[0], n_cues, n_bits, variant, integration)
    shifts = read_shifts(net)
    stimuli: dict[str, list[list[list[float]]]] = {"INcue": [], "INcont": []}
    has_learn = any(p.name == "INlearn" for p in net.populations)
    if has_learn:
        stimuli["INlearn"] = []
    for ops in op_lists:
        cue_times, cont_times, learn_times = stimulus(ops, n_cues, n_bits)
        stimuli["INcue"].append(cue_times)
        stimuli["INcont"].append(cont_times)
        if has_learn:
            stimuli["INlearn"].append([learn_times])
    sim_ms = max(float((ops[-1].t if ops else 0) + 10 + max(shifts)) for ops in op_lists)
    start = time.perf_counter()
    sim = compile_net(net, backend=backend, batch=len(op_lists), stimuli=stimuli, **options)
    result = sim.run(sim_ms)
    wall = time.perf_counter() - start
    trials = [result] if len(op_lists) == 1 else list(result)
    runs = []
    for b, (ops, trial) in enumerate(zip(op_lists, trials)):
        # the network of this trial: its inputs set to its sequence
        trial_net = dataclasses.replace(net, populations=[
            dataclasses.replace(p, model=SpikeSource(stimuli[p.name][b])) if p.name in stimuli else p
            for p in net.populations])
        memory = SymbolicCAM(n_cues, n_bits)
        expected = [memory.apply(op) for op in ops]
        got = decode(ops, trial.spikes["OUTcue"].by_step(net.dt), trial.spikes["OUTcont"].by_step(net.dt),
                     n_bits, *shifts)
        runs.append(CamRun(ops, expected, got, sim_ms, wall, trial, trial_net))
    return runs


def _run_in_chunks(sim: Any, total_ms: float, progress: bool, chunk_ms: float = 200.0) -> Any:
    if not progress or total_ms <= chunk_ms:
        return sim.run(total_ms)
    from tqdm import tqdm

    done, result = 0.0, None
    with tqdm(total=total_ms, unit="ms", desc="simulating", leave=False) as bar:
        while done < total_ms:
            step = min(chunk_ms, total_ms - done)
            result = sim.run(step)
            done += step
            bar.update(step)
    return result

