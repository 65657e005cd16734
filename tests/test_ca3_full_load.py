"""The default CA3 variant at full load: long dense sequences that fill the memory, and
recalls by content that light every stored cue right before another recall by content.

The reference is the ideal memory (``cam.SymbolicCAM``). The failure these tests guard
against is described in the header of models/ca3_cam.yaml: the published network's
lateral inhibition between the cue cells (p12) adds up over every cue a recall lights
and silences the next recall's one-bit matches 8 ms later.
"""
import math

import numpy as np
import pytest

import spikemem
from spikemem.tasks import cam

pytestmark = pytest.mark.slow
SCHEMES = ["exact", "fixed_step"]
POPULATIONS = ["CA3cueCueRecall", "CA3contCueRecall", "CA3contCond", "CA3contCondInt", "CA3cueContRecall",
               "CA3contContRecall", "CA3MergeCue", "CA3MergeCont", "OUTcue", "OUTcont"]


def largest_recall_before_a_recall_by_content(ops: list[cam.Op], expected: list[cam.Output]) -> int:
    """The most cues a recall by content lights right before another recall by content."""
    return max((len(expected[k].cues) for k in range(len(ops) - 1)
                if ops[k].op == ops[k + 1].op == "recall_content"), default=0)


def flood_ops(n_cues: int, n_bits: int, seed: int, spacing: int = 8) -> list[cam.Op]:
    """Fill every cue, then recalls by content that light every stored cue, each followed by
    a recall by content whose cues match by a single bit, and by a learn.

    Every stored content holds bit 0 and about 30% of the other bits, so the fragment {0}
    lights every cue through one 6 nA synapse each and the all-ones fragment through the
    strongest input a cue can get.
    """
    rng = np.random.default_rng(seed)
    ops: list[cam.Op] = []

    def add(op: str, cue: int | None = None, bits=None) -> None:
        ops.append(cam.Op(len(ops) * spacing, op, cue, None if bits is None else tuple(int(b) for b in bits)))

    def content() -> np.ndarray:
        bits = rng.random(n_bits) < 0.3
        bits[0] = True
        return bits

    def single(j: int) -> np.ndarray:
        return np.arange(n_bits) == j

    for cue in range(n_cues):
        add("learn", cue, content())
    everything = np.ones(n_bits, dtype=bool)
    for flood in (single(0), everything, single(0), everything):
        add("recall_content", bits=flood)
        add("recall_content", bits=single(int(rng.integers(1, n_bits))))
    for flood in (single(0), everything):
        add("recall_content", bits=flood)
        cue = int(rng.integers(n_cues))
        add("learn", cue, content())          # a learn right after every cue answered
        add("recall_content", bits=flood)
        add("recall_cue", cue)
        add("recall_content", bits=single(int(rng.integers(1, n_bits))))
    return ops


def assert_exact(run: cam.CamRun) -> None:
    assert run.mismatches() == []
    assert run.correct == len(run.ops)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_dense_1000_operations_at_128x128(scheme):
    ops = cam.random_ops(128, 128, n_ops=1000, seed=0, density=0.3)
    run = cam.run_ops(ops, 128, 128, integration=scheme, target="numpy")
    assert_exact(run)
    # the sequence fills the memory, and recalls that light many cues come right before
    # another recall by content (the published p12 fails from 61 cues at 128 bits)
    memory = cam.SymbolicCAM(128, 128)
    for op in ops:
        memory.apply(op)
    assert len(memory.stored) >= 110
    assert largest_recall_before_a_recall_by_content(ops, run.expected) >= 80


@pytest.mark.parametrize("scheme", SCHEMES)
def test_dense_1000_operations_at_256x256(scheme):
    ops = cam.random_ops(256, 256, n_ops=1000, seed=1, density=0.3)
    run = cam.run_ops(ops, 256, 256, integration=scheme, target="numpy")
    assert_exact(run)
    assert largest_recall_before_a_recall_by_content(ops, run.expected) >= 100


@pytest.mark.parametrize("scheme", SCHEMES)
def test_recall_lighting_every_cue_before_a_recall_by_content(scheme):
    ops = flood_ops(128, 128, seed=4)
    run = cam.run_ops(ops, 128, 128, integration=scheme, target="numpy")
    floods = [k for k, op in enumerate(ops) if op.op == "recall_content" and op.content[0]]
    assert len(floods) == 8
    assert all(run.expected[k].cues == tuple(range(128)) for k in floods)
    assert sorted(ops[k + 1].op for k in floods) == ["learn"] * 2 + ["recall_content"] * 4 + ["recall_cue"] * 2
    # the next recall's cues match by one bit each: the hardest case after a flood
    assert all(len(run.expected[k + 1].cues) >= 20 for k in floods if ops[k + 1].op == "recall_content")
    assert_exact(run)


def _membrane_response(cell, t: float) -> float:
    """mV at t ms after a 1 nA current jump that decays with tau_syn (exact IF_curr_exp solution)."""
    tm, ts = cell.tau_m, cell.tau_syn_I
    return tm * ts / (cell.cm * (tm - ts)) * (math.exp(-t / tm) - math.exp(-t / ts))


def test_the_published_lateral_inhibition_fails_where_the_margin_says():
    """Put the published p12 back: a one-bit match right after a recall that lit k cues
    answers exactly while k x 6 nA x n_bits of inhibition, G = 7 steps old, leaves the
    cell within the 6 nA input's margin (the header's formula, from the neuron's ODE)."""
    n = m = 128
    ks = [57, 58, 59, 60, 61, 62]
    # cue c holds bit 1 + i iff c < ks[i], and bit 0; cue 127 holds only the probe bit 100
    probe_bit, probe_cue = 100, 127
    ops: list[cam.Op] = []
    for c in range(n - 1):
        bits = [1] + [int(c < k) for k in ks] + [0] * (m - 1 - len(ks))
        ops.append(cam.Op(8 * c, "learn", c, tuple(bits)))
    ops.append(cam.Op(8 * (n - 1), "learn", probe_cue, tuple(int(j == probe_bit) for j in range(m))))
    probes = []
    for i, k in enumerate(ks):
        t = ops[-1].t + 24
        ops.append(cam.Op(t, "recall_content", None, tuple(int(j == 1 + i) for j in range(m))))
        ops.append(cam.Op(t + 8, "recall_content", None, tuple(int(j == probe_bit) for j in range(m))))
        probes.append(len(ops) - 1)
    net = cam.build_network(ops, n, m)
    published = spikemem.load(cam.model_path("published"), overrides={"n_cues": n, "n_bits": m})
    p12 = published.projection("p12_cuecont_recurrent_inh")
    assert p12.pre == p12.post == "CA3cueContRecall"
    net.projections.append(p12)   # same delay in both timings: pre and post have the same lag
    result = spikemem.compile(net, backend="brian2").run(float(ops[-1].t + 20))
    got = cam.decode(ops, result.spikes["OUTcue"].by_step(1.0), result.spikes["OUTcont"].by_step(1.0), m,
                     *cam.read_shifts(net))
    answered = [got[k].cues == (probe_cue,) for k in probes]
    # the margin: one 6 nA input (p11's learned weight) lifts the cell in one step by
    # lift, against the gap to threshold; the k flood cells' inhibition reaches the probe
    # cell one step after they fire and 7 steps before the probe's match fires it
    cell = net.population("CA3cueContRecall").model
    w = net.projection("p11_content_to_cue").synapse.weights.w_max
    margin = w * _membrane_response(cell, 1.0) - (cell.v_thresh - cell.v_rest)
    predicted = [k * p12.weight * _membrane_response(cell, 7.0) < margin for k in ks]
    assert answered == predicted
    assert True in predicted and False in predicted   # the boundary lies inside ks
    # without p12 (the default variant) every one answers
    assert_exact(cam.run_ops(ops, n, m))


def test_full_load_on_nest_is_event_for_event_brian2():
    """64 cues x 128 bits: the published p12 would silence one-bit matches after a recall that
    lit 61 cues or more, so the floods of every cue probe the failure; then dense random ops."""
    pytest.importorskip("pyNN.nest")
    n, m = 64, 128
    ops = flood_ops(n, m, seed=5)
    ops += [cam.Op(ops[-1].t + 8 + op.t, op.op, op.cue, op.content)
            for op in cam.random_ops(n, m, n_ops=100, seed=6, density=0.3)]
    on_nest = cam.run_ops(ops, n, m, backend="pynn.nest")
    assert_exact(on_nest)
    reference = cam.run_ops(ops, n, m)
    for pop in POPULATIONS:
        assert on_nest.result.spikes[pop].events(1.0) == reference.result.spikes[pop].events(1.0), pop
