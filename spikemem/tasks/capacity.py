"""Capacity of the CA3 memory beside the classic associative memories, on the same patterns.

The task. Store ``K`` random (cue, content) pairs in a fresh memory, then

- **recall by cue**: present each stored cue; the recall is *exact* when the returned
  content equals the stored one, bit for bit;
- **recall by content**: present fragments of ``f`` active bits, each taken from a stored
  content; the recall is exact when the returned set of cues equals the ideal set, every
  stored cue whose content shares at least one bit with the fragment
  (:class:`spikemem.tasks.cam.SymbolicCAM` gives that set).

Patterns (:func:`make_patterns`): each content has exactly ``k = max(1, round(density *
n_bits))`` active bits (a fixed-weight code, so one content carries log2 C(n_bits, k)
bits). A cue has ``cue_active`` active units of ``n_cues``: 1 is the CA3's one-hot code (one
cue neuron per memory, so at most ``n_cues`` pairs, all on distinct cues), more is a random
distributed code (distinct codes, any number of pairs). The load is ``K / n_cues``.

The memories (pure numpy, except the CA3):

- ``ca3``: the spiking CA3 network, played by :func:`spikemem.tasks.cam.run_ops` (one learn
  per pair, then the recalls). One-hot cues only.
- ``willshaw``: binary clipped Hebbian matrix ``W = OR_mu outer(x_mu, y_mu)`` (n_cues x
  n_bits). By cue: ``y = [W^T x >= |x|]`` (Willshaw's threshold: every active cue unit
  must reach the bit). By content: ``u = [W f >= 1]``: a cue unit fires when any fragment
  bit reaches it, the CAM's "shares a bit" rule; the returned cues are the stored cues
  whose every active unit fired.
- ``hopfield``: the classic Hopfield network, auto-associative on the concatenated pattern
  ``xi = 2 [x, y] - 1`` (N = n_cues + n_bits units, ``W = sum_mu xi xi^T / N``, no
  self-coupling), retrieving by completion: the given part is clamped, the unknown part
  starts at 0 and is updated asynchronously with ``sign`` until nothing changes. Why this
  form: the Hopfield network *is* auto-associative, completion is how it does
  hetero-association, and only this form has the known 0.138 N capacity (checked in the
  tests). It stores ±1 patterns, so sparse or one-hot codes are biased patterns, for which
  the classic rule is known to fail (Amit, Gutfreund & Sompolinsky 1987): the curves
  show it. An attractor returns one pattern, never a set: by content it can be right only
  when the ideal set holds one cue.
- ``dam``: a modern dense associative memory (Krotov & Hopfield 2016; Ramsauer et al.
  2020): the K stored ±1 patterns are the rows of ``Xi`` (one hidden unit per memory), and
  one step ``s <- sign(Xi^T softmax(beta Xi s))`` on the unknown units retrieves. ``beta =
  inf`` (the default) is the argmax over stored patterns (ties share the weight).

Bits per synapse (:func:`bits_per_synapse`), two measures: ``exact`` counts
log2 C(n_bits, k) bits for every pair recalled exactly by cue (a lower bound);
``mi`` is the measure of Willshaw nets (Palm 1980), ``K * n_bits * I(stored bit;
recalled bit)``, with the mutual information estimated from the bit confusion counts of
all recalls by cue. Either is divided by the synapses of the memory: n_cues * n_bits for
the CA3 (its cue->content matrix p10; recall by content uses a second, transposed matrix
p11 of the same size) and for Willshaw (one matrix serves both directions), N^2 for
Hopfield, K * N for the dense memory. Willshaw's asymptotic bound is ln 2 ≈ 0.69 bits per
synapse (n -> inf, sparse codes); a one-hot table holds up to H(k / n_bits) <= 1 bit per
synapse, but only n_cues memories.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from spikemem.tasks import cam

MEMORIES = ("ca3", "willshaw", "hopfield", "dam")
NUMPY_MEMORIES = ("willshaw", "hopfield", "dam")
LN2 = math.log(2.0)


# -- patterns -----------------------------------------------------------------

@dataclass(frozen=True)
class Patterns:
    """K stored pairs: ``cues`` (K, n_cues) and ``contents`` (K, n_bits), 0/1 (uint8)."""
    cues: np.ndarray
    contents: np.ndarray

    @property
    def n_pairs(self) -> int:
        return int(self.cues.shape[0])

    @property
    def n_cues(self) -> int:
        return int(self.cues.shape[1])

    @property
    def n_bits(self) -> int:
        return int(self.contents.shape[1])

    @property
    def cue_index(self) -> np.ndarray:
        """The cue neuron of each pair (one-hot cues only)."""
        if not np.all(self.cues.sum(axis=1) == 1):
            raise ValueError("cue_index: the cues are not one-hot (cue_active > 1)")
        return self.cues.argmax(axis=1)


def content_active(n_bits: int, density: float) -> int:
    """Active bits of every content: ``max(1, round(density * n_bits))``."""
    if not 0.0 < density <= 1.0:
        raise ValueError(f"density must be in (0, 1] (the fraction of content bits set), got {density}")
    return max(1, min(n_bits, round(density * n_bits)))


def n_pairs_at(load: float, n_cues: int) -> int:
    """Stored pairs at a load (pairs per cue neuron): ``max(1, round(load * n_cues))``."""
    if not load > 0:
        raise ValueError(f"load must be > 0 (stored pairs per cue neuron), got {load}")
    return max(1, round(load * n_cues))


def make_patterns(n_cues: int, n_bits: int, n_pairs: int, density: float, rng: np.random.Generator,
                  cue_active: int = 1) -> Patterns:
    """``n_pairs`` random pairs: distinct cues of ``cue_active`` units of ``n_cues`` (1: one-hot,
    one distinct cue neuron per pair), contents of :func:`content_active` random bits."""
    if not 1 <= cue_active <= n_cues:
        raise ValueError(f"cue_active must be in [1, n_cues={n_cues}], got {cue_active}")
    if n_pairs > math.comb(n_cues, cue_active):
        raise ValueError(f"n_pairs={n_pairs}: only {math.comb(n_cues, cue_active)} distinct cues of "
                         f"{cue_active} of {n_cues} units" + (" (a one-hot cue holds one memory per cue "
                                                              "neuron: use load <= 1, or cue_active > 1)"
                                                              if cue_active == 1 else ""))
    k = content_active(n_bits, density)
    cues = np.zeros((n_pairs, n_cues), np.uint8)
    if cue_active == 1:
        cues[np.arange(n_pairs), rng.permutation(n_cues)[:n_pairs]] = 1
    else:
        seen: set[tuple[int, ...]] = set()
        row = 0
        while row < n_pairs:  # distinct codes: a repeated cue would be an overwrite, not a new memory
            on = tuple(sorted(rng.choice(n_cues, cue_active, replace=False).tolist()))
            if on not in seen:
                seen.add(on)
                cues[row, list(on)] = 1
                row += 1
    contents = np.zeros((n_pairs, n_bits), np.uint8)
    for row in range(n_pairs):
        contents[row, rng.choice(n_bits, k, replace=False)] = 1
    return Patterns(cues, contents)


def make_fragments(patterns: Patterns, size: int, n_fragments: int, rng: np.random.Generator) -> np.ndarray:
    """``n_fragments`` fragments (n_fragments, n_bits), 0/1: each is ``min(size, k)`` random active
    bits of a random stored content."""
    if size < 1:
        raise ValueError(f"fragment size must be >= 1 bit, got {size}")
    out = np.zeros((n_fragments, patterns.n_bits), np.uint8)
    for r in range(n_fragments):
        on = np.flatnonzero(patterns.contents[rng.integers(patterns.n_pairs)])
        out[r, rng.choice(on, min(size, len(on)), replace=False)] = 1
    return out


def ideal_sets(patterns: Patterns, fragments: np.ndarray) -> np.ndarray:
    """(R, K) bool: the stored pairs each fragment must return, every pair whose content shares a bit
    with it: :class:`cam.SymbolicCAM`'s rule, on arrays (the tests check the two agree)."""
    return (fragments.astype(np.float64) @ patterns.contents.T.astype(np.float64)) > 0


def decode_cues(units: np.ndarray, patterns: Patterns) -> np.ndarray:
    """(R, K) bool: the stored pairs whose every active cue unit is on in ``units`` (R, n_cues)."""
    hits = units.astype(np.float64) @ patterns.cues.T.astype(np.float64)
    return hits == patterns.cues.sum(axis=1)[None, :]


# -- Willshaw -----------------------------------------------------------------

def willshaw_store(patterns: Patterns) -> np.ndarray:
    """The clipped Hebbian matrix (n_cues, n_bits), 0/1: OR over pairs of outer(cue, content)."""
    # float64 products go through BLAS and count exactly (counts are far below 2^53)
    return ((patterns.cues.T.astype(np.float64) @ patterns.contents.astype(np.float64)) > 0).astype(np.uint8)


def willshaw_recall_cue(w: np.ndarray, cues: np.ndarray) -> np.ndarray:
    """Contents (R, n_bits), 0/1: ``[W^T x >= |x|]`` for each cue row x."""
    dendrite = cues.astype(np.float64) @ w.astype(np.float64)
    return (dendrite >= cues.sum(axis=1, keepdims=True)).astype(np.uint8)


def willshaw_recall_content(w: np.ndarray, fragments: np.ndarray) -> np.ndarray:
    """Cue units (R, n_cues), 0/1: ``[W f >= 1]``, a unit fires when any fragment bit reaches it."""
    return ((fragments.astype(np.float64) @ w.T.astype(np.float64)) >= 1).astype(np.uint8)


def willshaw_false_positive(n_cues: int, n_bits: int, cue_active: int, k: int, n_other: int) -> float:
    """Exact probability that a silent content bit fires on recall by cue, with ``n_other``
    other stored pairs drawn independently (cues of ``cue_active`` of ``n_cues`` units,
    contents of ``k`` of ``n_bits``).

    The bit fires when each of the cue's active units is joined to it by some other pair.
    Inclusion-exclusion over the set S of units left unjoined: a pair joins none of S with
    probability ``1 - (k/n_bits) (1 - C(n_cues-s, a)/C(n_cues, a))``, independently per pair.
    (Independent draws: :func:`make_patterns` keeps cues distinct, which the formula ignores,
    a small effect when C(n_cues, a) >> pairs.)
    """
    q = k / n_bits
    total = 0.0
    for s in range(cue_active + 1):
        hit_s = 1.0 - math.comb(n_cues - s, cue_active) / math.comb(n_cues, cue_active)
        total += (-1) ** s * math.comb(cue_active, s) * (1.0 - q * hit_s) ** n_other
    return total


# -- Hopfield -----------------------------------------------------------------

def bipolar(patterns: Patterns) -> np.ndarray:
    """The ±1 concatenated patterns (K, n_cues + n_bits): 2 [cue, content] - 1."""
    return 2.0 * np.concatenate([patterns.cues, patterns.contents], axis=1).astype(np.float64) - 1.0


def hopfield_store(xi: np.ndarray) -> np.ndarray:
    """The classic Hebbian couplings (N, N): ``sum_mu xi_mu xi_mu^T / N``, zero diagonal."""
    w = xi.T @ xi / xi.shape[1]
    np.fill_diagonal(w, 0.0)
    return w


def hopfield_settle(w: np.ndarray, states: np.ndarray, free: np.ndarray, rng: np.random.Generator,
                    max_sweeps: int = 50) -> np.ndarray:
    """Asynchronous ``sign`` dynamics from ``states`` (R, N) (±1, 0 = unknown) on the ``free``
    units ((N,) or per state (R, N), bool), in a fresh random order each sweep, until a sweep
    changes nothing (or ``max_sweeps``). A zero field leaves a unit as it is. All R states run
    in parallel, in the same order."""
    s = np.array(states, dtype=np.float64)
    free = np.broadcast_to(np.asarray(free, bool), s.shape)
    units = np.flatnonzero(free.any(axis=0))
    for _ in range(max_sweeps):
        changed = False
        for i in rng.permutation(units):
            h = s @ w[:, i]
            new = np.where(free[:, i] & (h > 0), 1.0, np.where(free[:, i] & (h < 0), -1.0, s[:, i]))
            if not changed and np.any(new != s[:, i]):
                changed = True
            s[:, i] = new
        if not changed:
            break
    return s


def _cue_queries(patterns: Patterns, cues: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = patterns.n_cues
    states = np.zeros((len(cues), n + patterns.n_bits))
    states[:, :n] = 2.0 * cues - 1.0
    free = np.arange(n + patterns.n_bits) >= n
    return states, free


def _content_queries(patterns: Patterns, fragments: np.ndarray) -> np.ndarray:
    """Fragment bits at +1, every other unit unknown (0): a fragment says which bits are on, not
    which are off."""
    states = np.zeros((len(fragments), patterns.n_cues + patterns.n_bits))
    states[:, patterns.n_cues:] = fragments
    return states


def hopfield_recall_cue(w: np.ndarray, patterns: Patterns, cues: np.ndarray,
                        rng: np.random.Generator) -> np.ndarray:
    """Contents (R, n_bits), 0/1: the content part completed with the cue part clamped."""
    states, free = _cue_queries(patterns, cues)
    return (hopfield_settle(w, states, free, rng)[:, patterns.n_cues:] > 0).astype(np.uint8)


def hopfield_recall_content(w: np.ndarray, patterns: Patterns, fragments: np.ndarray,
                            rng: np.random.Generator) -> np.ndarray:
    """Cue units (R, n_cues), 0/1: the cue part completed with the fragment bits clamped at +1."""
    states = _content_queries(patterns, fragments)
    free = states == 0  # all but this fragment's own bits
    return (hopfield_settle(w, states, free, rng)[:, :patterns.n_cues] > 0).astype(np.uint8)


# -- dense associative memory -------------------------------------------------

def dam_step(xi: np.ndarray, states: np.ndarray, free: np.ndarray, beta: float = math.inf) -> np.ndarray:
    """One retrieval step of a dense associative memory: the free units of ``states`` (R, N)
    become ``sign(Xi^T softmax(beta Xi s))``; ``beta = inf`` spreads the weight evenly over the
    best-matching stored patterns (the argmax, ties shared)."""
    overlap = states @ xi.T  # (R, K)
    if math.isinf(beta):
        weights = (overlap == overlap.max(axis=1, keepdims=True)).astype(np.float64)
    else:
        weights = np.exp(beta * (overlap - overlap.max(axis=1, keepdims=True)))
    weights /= weights.sum(axis=1, keepdims=True)
    field_ = weights @ xi
    out = np.array(states, dtype=np.float64)
    out[:, free] = np.where(field_[:, free] > 0, 1.0, -1.0)
    return out


def dam_recall_cue(xi: np.ndarray, patterns: Patterns, cues: np.ndarray, beta: float = math.inf) -> np.ndarray:
    """Contents (R, n_bits), 0/1, from the cues."""
    states, free = _cue_queries(patterns, cues)
    return (dam_step(xi, states, free, beta)[:, patterns.n_cues:] > 0).astype(np.uint8)


def dam_recall_content(xi: np.ndarray, patterns: Patterns, fragments: np.ndarray,
                       beta: float = math.inf) -> np.ndarray:
    """Cue units (R, n_cues), 0/1, from the fragments (only the cue part is read)."""
    states = _content_queries(patterns, fragments)
    free = np.arange(states.shape[1]) < patterns.n_cues
    return (dam_step(xi, states, free, beta)[:, :patterns.n_cues] > 0).astype(np.uint8)


# -- the CA3 network ----------------------------------------------------------

@dataclass
class Ca3Options:
    """How the CA3 memory is run: the model variant, the engine and its options, and the ms
    between operations."""
    variant: str = "default"
    backend: str = "brian2"
    spacing: int = 8
    engine: dict[str, Any] = field(default_factory=dict)


def ca3_ops(patterns: Patterns, fragments: Sequence[np.ndarray], spacing: int = 8) -> list[cam.Op]:
    """The CA3 sequence: a learn per pair, a recall by cue per pair, then a recall by content per
    fragment (``fragments``: one array per fragment size), ``spacing`` ms apart."""
    if spacing < max(cam.MIN_SPACING_MS.values()):
        raise ValueError(f"spacing must be >= {max(cam.MIN_SPACING_MS.values())} ms (the longest operation), "
                         f"got {spacing}")
    cue = patterns.cue_index
    ops = [cam.Op(0, "learn", int(cue[mu]), tuple(int(b) for b in patterns.contents[mu]))
           for mu in range(patterns.n_pairs)]
    ops += [cam.Op(0, "recall_cue", int(cue[mu])) for mu in range(patterns.n_pairs)]
    ops += [cam.Op(0, "recall_content", None, tuple(int(b) for b in frag)) for frags in fragments for frag in frags]
    return [cam.Op(k * spacing, op.op, op.cue, op.content) for k, op in enumerate(ops)]


def ca3_recall(patterns: Patterns, fragments: Sequence[np.ndarray],
               options: Ca3Options | None = None) -> tuple[np.ndarray, list[np.ndarray], cam.CamRun]:
    """Play :func:`ca3_ops` on the CA3 network: (contents recalled by cue (K, n_bits), returned
    cue units per fragment array (R, n_cues), the run)."""
    options = options or Ca3Options()
    ops = ca3_ops(patterns, fragments, options.spacing)
    run = cam.run_ops(ops, patterns.n_cues, patterns.n_bits, variant=options.variant,
                      backend=options.backend, **options.engine)
    k = patterns.n_pairs
    by_cue = np.array([run.got[k + mu].content for mu in range(k)], np.uint8).reshape(k, patterns.n_bits)
    units, start = [], 2 * k
    for frags in fragments:
        block = np.zeros((len(frags), patterns.n_cues), np.uint8)
        for r in range(len(frags)):
            block[r, list(run.got[start + r].cues)] = 1
        units.append(block)
        start += len(frags)
    return by_cue, units, run


def model_fingerprint(variant: str = "default") -> str:
    """sha256 (first 12 hex digits) of the CA3 model file a run used, to tell model versions apart."""
    return hashlib.sha256(cam.model_path(variant).read_bytes()).hexdigest()[:12]


# -- scores -------------------------------------------------------------------

def synapses(memory: str, n_cues: int, n_bits: int, n_pairs: int) -> int:
    """Synapses counted for bits per synapse (see the module docstring)."""
    if memory in ("ca3", "willshaw"):
        return n_cues * n_bits
    if memory == "hopfield":
        return (n_cues + n_bits) ** 2
    if memory == "dam":
        return n_pairs * (n_cues + n_bits)
    raise ValueError(f"unknown memory {memory!r} (one of: {', '.join(MEMORIES)})")


def mutual_information(stored: np.ndarray, recalled: np.ndarray) -> float:
    """Bits of I(stored bit; recalled bit), from the joint counts over all bits of two 0/1 arrays."""
    joint = np.array([[np.sum((stored == a) & (recalled == b)) for b in (0, 1)] for a in (0, 1)], float)
    joint /= joint.sum()
    px, py = joint.sum(axis=1), joint.sum(axis=0)
    nz = joint > 0
    return float(np.sum(joint[nz] * np.log2(joint[nz] / np.outer(px, py)[nz])))


def bits_per_synapse(stored: np.ndarray, recalled: np.ndarray, n_synapses: int) -> dict[str, float]:
    """``{"exact": ..., "mi": ...}`` bits per synapse of contents recalled by cue (module docstring)."""
    k = int(stored[0].sum())
    exact = int(np.sum(np.all(stored == recalled, axis=1)))
    return {"exact": exact * math.log2(math.comb(stored.shape[1], k)) / n_synapses,
            "mi": stored.size * mutual_information(stored, recalled) / n_synapses}


@dataclass(frozen=True)
class Trial:
    """One memory on one set of patterns: what it recalled, scored against the ideal."""
    memory: str
    recall_cue: float                 # fraction of pairs recalled exactly by cue
    add_errors: float                 # mean wrong 1-bits per recall by cue
    miss_errors: float                # mean missing 1-bits per recall by cue
    recall_content: dict[int, float]  # fragment size -> fraction of exact cue sets
    bits_exact: float
    bits_mi: float


def score(memory: str, patterns: Patterns, by_cue: np.ndarray, cue_units: Sequence[np.ndarray],
          fragments: Sequence[np.ndarray], sizes: Sequence[int]) -> Trial:
    """Score what a memory returned (contents by cue, cue units per fragment array)."""
    stored = patterns.contents
    bits = bits_per_synapse(stored, by_cue, synapses(memory, patterns.n_cues, patterns.n_bits, patterns.n_pairs))
    content = {int(f): float(np.mean(np.all(decode_cues(u, patterns) == ideal_sets(patterns, frags), axis=1)))
               for f, u, frags in zip(sizes, cue_units, fragments)}
    return Trial(memory, float(np.mean(np.all(by_cue == stored, axis=1))),
                 float(np.mean(np.sum((by_cue == 1) & (stored == 0), axis=1))),
                 float(np.mean(np.sum((by_cue == 0) & (stored == 1), axis=1))),
                 content, bits["exact"], bits["mi"])


def numpy_recall(memory: str, patterns: Patterns, fragments: Sequence[np.ndarray], rng: np.random.Generator,
                 beta: float = math.inf) -> tuple[np.ndarray, list[np.ndarray]]:
    """What a numpy memory returns: contents recalled by cue, cue units per fragment array."""
    if memory == "willshaw":
        w = willshaw_store(patterns)
        return willshaw_recall_cue(w, patterns.cues), [willshaw_recall_content(w, f) for f in fragments]
    xi = bipolar(patterns)
    if memory == "hopfield":
        w = hopfield_store(xi)
        return (hopfield_recall_cue(w, patterns, patterns.cues, rng),
                [hopfield_recall_content(w, patterns, f, rng) for f in fragments])
    if memory == "dam":
        return (dam_recall_cue(xi, patterns, patterns.cues, beta),
                [dam_recall_content(xi, patterns, f, beta) for f in fragments])
    raise ValueError(f"unknown memory {memory!r} (one of: {', '.join(NUMPY_MEMORIES)}, ca3)")


# -- the sweep ----------------------------------------------------------------

@dataclass
class SweepConfig:
    """The grid: every memory on every (size, load, density) point, ``trials`` pattern sets each.

    ``sizes``: (n_cues, n_bits); ``loads``: stored pairs per cue neuron; ``densities``: fraction of
    content bits set; ``fragments``: fragment sizes (active bits); ``n_fragments``: fragments
    per size and trial; ``cue_active``: active units per cue (1: one-hot, the CA3's code).
    """
    memories: tuple[str, ...] = MEMORIES
    sizes: tuple[tuple[int, int], ...] = ((16, 16), (32, 32))
    loads: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0)
    densities: tuple[float, ...] = (0.1, 0.25, 0.5)
    fragments: tuple[int, ...] = (1, 2, 4)
    n_fragments: int = 16
    trials: int = 1
    seed: int = 0
    cue_active: int = 1
    beta: float = math.inf
    ca3: Ca3Options = field(default_factory=Ca3Options)

    def problems(self) -> list[str]:
        """Every problem of the config, each starting with its field's name and a colon."""
        out = [f"memories: unknown {m!r} (one of: {', '.join(MEMORIES)})" for m in self.memories if m not in MEMORIES]
        if not self.memories:
            out.append("memories: give at least one")
        out += [f"sizes: {n}x{m}: both must be >= 1" for n, m in self.sizes if n < 1 or m < 1]
        out += [f"loads: {x} must be > 0" for x in self.loads if not x > 0]
        out += [f"densities: {d} must be in (0, 1]" for d in self.densities if not 0 < d <= 1]
        out += [f"fragments: {f} must be >= 1 bit" for f in self.fragments if f < 1]
        out += [f"{name}: must be >= 1, got {getattr(self, name)}" for name in ("n_fragments", "trials")
                if getattr(self, name) < 1]
        if self.cue_active < 1 or any(self.cue_active > n for n, _ in self.sizes):
            out.append(f"cue_active: {self.cue_active} must be in [1, n_cues] for every size")
        if "ca3" in self.memories and self.cue_active != 1:
            out.append(f"cue_active: {self.cue_active}: the CA3 memory has one cue neuron per memory "
                       f"(cue_active 1), drop ca3 from memories for a distributed code")
        if self.cue_active == 1 and any(x > 1 for x in self.loads):
            out.append(f"loads: {', '.join(f'{x:g}' for x in self.loads if x > 1)}: a one-hot cue holds one "
                       f"memory per cue neuron (load <= 1); use cue_active > 1 for more")
        return out


def point_rng(seed: int, n_cues: int, n_bits: int, n_pairs: int, density: float, trial: int) -> np.random.Generator:
    """The generator of one pattern set: the same for every memory, whatever else is swept."""
    return np.random.default_rng([seed, n_cues, n_bits, n_pairs, round(density * 1_000_000), trial])


def run_point(config: SweepConfig, n_cues: int, n_bits: int, load: float, density: float,
              trial: int) -> list[Trial]:
    """Every memory of ``config`` on one pattern set."""
    n_pairs = n_pairs_at(load, n_cues)
    rng = point_rng(config.seed, n_cues, n_bits, n_pairs, density, trial)
    patterns = make_patterns(n_cues, n_bits, n_pairs, density, rng, config.cue_active)
    fragments = [make_fragments(patterns, f, config.n_fragments, rng) for f in config.fragments]
    out = []
    for memory in config.memories:
        if memory == "ca3":
            by_cue, units, _ = ca3_recall(patterns, fragments, config.ca3)
        else:  # the dynamics' own draws (update order) come from a generator of the memory's own,
            # so that a memory's result does not depend on which others run
            own = np.random.default_rng([config.seed, n_cues, n_bits, n_pairs, trial, 1 + MEMORIES.index(memory)])
            by_cue, units = numpy_recall(memory, patterns, fragments, own, config.beta)
        out.append(score(memory, patterns, by_cue, units, fragments, config.fragments))
    return out


def sweep(config: SweepConfig, progress: bool = False,
          on_point: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run the grid; return ``{"config": ..., "rows": [...]}`` with one row per memory and point,
    averaged over the trials (JSON-ready). ``progress`` shows a tqdm bar."""
    problems = config.problems()
    if problems:
        raise ValueError("capacity sweep: " + "; ".join(problems))
    before = model_fingerprint(config.ca3.variant) if "ca3" in config.memories else None
    points = [(n, m, load, d) for n, m in config.sizes for load in config.loads for d in config.densities]
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(points) * config.trials, unit="pattern set", desc="capacity", leave=False)
    rows = []
    for n, m, load, density in points:
        trials: list[list[Trial]] = []
        for trial in range(config.trials):
            trials.append(run_point(config, n, m, load, density, trial))
            if bar is not None:
                bar.update(1)
        n_pairs = n_pairs_at(load, n)
        for j, memory in enumerate(config.memories):
            runs = [t[j] for t in trials]
            row = {"memory": memory, "n_cues": n, "n_bits": m, "cue_active": config.cue_active,
                   "load": load, "n_pairs": n_pairs, "density": density, "k_active": content_active(m, density),
                   "synapses": synapses(memory, n, m, n_pairs), "trials": config.trials,
                   "recall_cue": _mean([r.recall_cue for r in runs]),
                   "add_errors": _mean([r.add_errors for r in runs]),
                   "miss_errors": _mean([r.miss_errors for r in runs]),
                   "recall_content": {str(f): _mean([r.recall_content[f] for r in runs]) for f in config.fragments},
                   "bits_per_synapse_exact": _mean([r.bits_exact for r in runs]),
                   "bits_per_synapse_mi": _mean([r.bits_mi for r in runs])}
            rows.append(row)
            if on_point is not None:
                on_point(row)
    if bar is not None:
        bar.close()
    if before is not None and model_fingerprint(config.ca3.variant) != before:
        raise RuntimeError(f"{cam.model_path(config.ca3.variant)} changed while the sweep ran, so its CA3 rows "
                           f"mix two models: run the sweep again")
    return {"config": config_dict(config, before), "rows": rows}


def _mean(values: Sequence[float]) -> float:
    return round(float(np.mean(values)), 6)


def config_dict(config: SweepConfig, fingerprint: str | None = None) -> dict[str, Any]:
    """The config as JSON (``beta`` inf as the string "inf"); with the CA3 model file and its
    ``fingerprint`` (:func:`model_fingerprint`) when the CA3 ran, without the CA3 options otherwise."""
    out = asdict(config)
    out["sizes"] = [f"{n}x{m}" for n, m in config.sizes]
    out["beta"] = "inf" if math.isinf(config.beta) else config.beta
    if "ca3" in config.memories:
        out["ca3"]["model"] = f"models/{cam.VARIANTS[config.ca3.variant]}"
        out["ca3"]["model_sha256"] = fingerprint or model_fingerprint(config.ca3.variant)
    else:
        out.pop("ca3")
    return out


# -- the plot -----------------------------------------------------------------

COLOURS = {"ca3": "tab:red", "willshaw": "tab:blue", "hopfield": "tab:green", "dam": "tab:purple"}
LABELS = {"ca3": "CA3 (spiking)", "willshaw": "Willshaw", "hopfield": "Hopfield", "dam": "dense assoc. memory"}
#: thick to thin in drawing order, so that memories with equal curves stay visible one inside the other
WIDTHS = {"ca3": 5.0, "willshaw": 3.0, "hopfield": 1.8, "dam": 1.0}
MARKERS = {"ca3": "s", "willshaw": "o", "hopfield": "^", "dam": "x"}


def plot_curves(rows: Sequence[dict[str, Any]], density: float | str | None = None, fragment: int | None = None,
                axes: Any = None, title: str | None = None) -> Any:
    """Three panels against the stored pairs K: exact recall by cue, exact recall by content (one
    fragment size, default the median swept), bits per synapse (solid: exact measure, dotted:
    mutual information; dashed: ln 2). One line per memory, size and cue code (lighter: smaller
    size), at one content ``density`` (default: the median swept; ``"all"``: every one). Returns
    the axes."""
    import matplotlib.pyplot as plt

    densities = sorted({r["density"] for r in rows})
    if density is None:
        density = densities[len(densities) // 2]
    keep = [r for r in rows if density == "all" or r["density"] == density]
    frags = sorted({int(f) for r in keep for f in r["recall_content"]})
    fragment = frags[len(frags) // 2] if fragment is None else fragment
    sizes = sorted({(r["n_cues"], r["n_bits"]) for r in keep})
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(15, 4), constrained_layout=True)
    groups = sorted({(MEMORIES.index(r["memory"]), sizes.index((r["n_cues"], r["n_bits"])), r["cue_active"],
                      r["density"]) for r in keep})
    for mem_i, size_i, cue_active, dens in groups:
        memory, (n, m) = MEMORIES[mem_i], sizes[size_i]
        pts = sorted((r["n_pairs"], r) for r in keep if r["memory"] == memory and (r["n_cues"], r["n_bits"]) == (n, m)
                     and r["cue_active"] == cue_active and r["density"] == dens)
        k = [p[0] for p in pts]
        label = f"{LABELS[memory]}, {n}x{m}" + ("" if cue_active == 1 else f", {cue_active}-unit cues") \
            + (f", {content_active(m, dens)}-bit contents" if density == "all" and len(densities) > 1 else "")
        style = dict(color=COLOURS[memory], marker=MARKERS[memory], ms=4, lw=WIDTHS[memory],
                     alpha=0.35 + 0.65 * (size_i + 1) / len(sizes))
        axes[0].plot(k, [p[1]["recall_cue"] for p in pts], label=label, **style)
        axes[1].plot(k, [p[1]["recall_content"].get(str(fragment), np.nan) for p in pts], **style)
        axes[2].plot(k, [p[1]["bits_per_synapse_exact"] for p in pts], **style)
        axes[2].plot(k, [p[1]["bits_per_synapse_mi"] for p in pts], ls=":", **style)
    axes[2].axhline(LN2, color="k", ls="--", lw=1)
    axes[2].annotate("ln 2 ", xy=(1.0, LN2), xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=8)
    for ax, what in zip(axes, ("exact recall by cue (fraction)", f"exact recall by content, {fragment}-bit fragments",
                               "bits per synapse (solid: exact, dotted: MI)")):
        ax.set_xlabel("stored pairs K")
        ax.set_ylabel(what)
        ax.set_xscale("log", base=2)
        ax.grid(alpha=0.3)
    for ax in axes[:2]:
        ax.set_ylim(-0.03, 1.03)
    axes[0].legend(fontsize=7, loc="best")
    axes[0].set_title(title if title is not None else "" if density == "all" else f"content density {density:g}")
    return axes
