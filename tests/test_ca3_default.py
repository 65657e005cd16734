"""The default CA3 variant is an exact memory: every operation equals the ideal symbolic memory."""
import numpy as np
import pytest

import spikemem
from spikemem import STDP
from spikemem.tasks import cam

SCHEMES = ["exact", "fixed_step"]


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("experiment", ["functional", "stress", "applicability"])
def test_paper_experiments(experiment, scheme):
    ops, n_cues, n_bits = cam.load_experiment(experiment)
    run = cam.run_ops(ops, n_cues, n_bits, variant="default", integration=scheme)
    assert run.mismatches() == []
    assert run.correct == len(ops)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("size", [(5, 10), (9, 17), (24, 24), (128, 128)])
@pytest.mark.parametrize("seed", [0, 1])
def test_random_sequences(size, seed, scheme):
    n_cues, n_bits = size
    ops = cam.random_ops(n_cues, n_bits, n_ops=100, seed=seed, spacing=8)
    run = cam.run_ops(ops, n_cues, n_bits, variant="default", integration=scheme)
    assert run.mismatches() == []
    # the sequence exercises what breaks the published network
    kinds = [op.op for op in ops]
    assert kinds.count("recall_content") >= 20 and kinds.count("learn") >= 20


@pytest.mark.parametrize("scheme", SCHEMES)
def test_learned_weights_are_the_stored_memory(scheme):
    ops = cam.random_ops(9, 17, n_ops=60, seed=3)
    run = cam.run_ops(ops, 9, 17, variant="default", integration=scheme)
    memory = cam.SymbolicCAM(9, 17)
    for op in ops:
        memory.apply(op)
    ideal = np.zeros((9, 17))
    for cue, bits in memory.stored.items():
        ideal[cue] = 6.0 * np.asarray(bits)
    np.testing.assert_allclose(run.result.weights["p10_cue_to_content"], ideal, atol=1e-9)
    np.testing.assert_allclose(run.result.weights["p11_content_to_cue"], ideal.T, atol=1e-9)


def test_never_learned_cue_recalls_nothing():
    ops = [cam.Op(0, "learn", 1, (1, 0, 1, 0, 0, 0, 0, 0, 0, 0)),
           cam.Op(8, "recall_cue", 2), cam.Op(16, "recall_cue", 1),
           cam.Op(24, "recall_content", None, (0, 1, 0, 0, 0, 0, 0, 0, 0, 0))]
    run = cam.run_ops(ops, 5, 10)
    assert [g.content for g in run.got[1:3]] == [(0,) * 10, (1, 0, 1, 0, 0, 0, 0, 0, 0, 0)]
    assert run.got[3].cues == ()


#: the lags of models/ca3_cam.yaml's re-timing (its header), ms
PHI = {"INcue": 0, "INcont": 0, "INlearn": 0, "CA3cueCueRecall": 1, "CA3contCueRecall": 2, "CA3contCondInt": 3,
       "CA3contCond": 4, "CA3contContRecall": 5, "CA3cueContRecall": 6, "CA3MergeCont": 6, "CA3MergeCue": 7,
       "OUTcont": 7, "OUTcue": 8}


def test_retimed_delays_shift_each_population_by_its_lag():
    """Undo the re-timing (delays d - phi(post) + phi(pre), back-propagation and gate delays
    back to 1 and 0 ms): every population fires the same spikes phi(P) earlier."""
    ops = cam.random_ops(5, 10, n_ops=40, seed=3)
    retimed = cam.build_network(ops, 5, 10)
    original = cam.build_network(ops, 5, 10)
    for proj in original.projections:
        lag = PHI[proj.post] - PHI[proj.pre]
        proj.delay -= lag
        if isinstance(proj.synapse, STDP):
            proj.synapse.timing.post_delay += lag
            proj.synapse.gate.delay -= PHI[proj.pre]
    assert min(p.delay for p in original.projections) == 1.0  # the published network's timing
    duration = float(ops[-1].t + 20)
    a = spikemem.compile(retimed, backend="brian2").run(duration)
    b = spikemem.compile(original, backend="brian2").run(duration)
    assert set(a.spikes) == set(PHI) - {"INlearn"}
    for name in a.spikes:
        lag = PHI[name]
        shifted = {(t + lag, i) for t, i in b.spikes[name].events(1.0) if t + lag < duration}
        assert a.spikes[name].events(1.0) == shifted, name
    for name, w in a.weights.items():
        np.testing.assert_array_equal(w, b.weights[name])
