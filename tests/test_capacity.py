"""The capacity task: each memory against an independent reference (a hand-worked case, an exact
formula, a known capacity), the CA3 network against the ideal memory, and the command."""
import json
import math

import numpy as np
import pytest

from spikemem import cli
from spikemem.tasks import cam
from spikemem.tasks import capacity as cap


def patterns(cues, contents) -> cap.Patterns:
    return cap.Patterns(np.array(cues, np.uint8), np.array(contents, np.uint8))


def bits(n, *on):
    return [int(j in on) for j in range(n)]


# -- patterns and the ideal answers ---------------------------------------------

def test_patterns_have_distinct_cues_and_fixed_weight_contents():
    rng = np.random.default_rng(3)
    one_hot = cap.make_patterns(12, 20, 12, 0.25, rng)
    assert sorted(one_hot.cue_index.tolist()) == list(range(12))  # every cue neuron once
    assert set(one_hot.contents.sum(axis=1)) == {5}
    sparse = cap.make_patterns(10, 20, 40, 0.1, rng, cue_active=3)
    assert set(sparse.cues.sum(axis=1)) == {3} and len({tuple(c) for c in sparse.cues}) == 40
    assert set(sparse.contents.sum(axis=1)) == {2}
    with pytest.raises(ValueError, match="a one-hot cue holds one memory per cue neuron"):
        cap.make_patterns(4, 8, 5, 0.5, rng)


def test_fragments_are_parts_of_stored_contents_and_ideal_sets_are_the_shared_bit_rule():
    rng = np.random.default_rng(0)
    p = cap.make_patterns(16, 24, 16, 0.25, rng)
    frags = cap.make_fragments(p, 3, 50, rng)
    assert set(frags.sum(axis=1)) == {3}
    # each fragment lies inside some stored content
    assert np.all(np.any((frags @ p.contents.T) == 3, axis=1))
    # the ideal set is SymbolicCAM's answer (pair index as the cue)
    memory = cam.SymbolicCAM(p.n_pairs, p.n_bits)
    for mu, content in enumerate(p.contents):
        memory.apply(cam.Op(0, "learn", mu, tuple(content.tolist())))
    symbolic = np.zeros((len(frags), p.n_pairs), bool)
    for r, frag in enumerate(frags):
        symbolic[r, list(memory.apply(cam.Op(0, "recall_content", None, tuple(frag.tolist()))).cues)] = True
    assert 0 < symbolic.sum() < symbolic.size
    np.testing.assert_array_equal(cap.ideal_sets(p, frags), symbolic)


# -- Willshaw -------------------------------------------------------------------

def test_willshaw_hand_worked_case():
    # cues A {0,1}, B {2,3}, C {1,2} of 4 units; contents A {0}, B {1}, C {2} of 4 bits
    p = patterns([bits(4, 0, 1), bits(4, 2, 3), bits(4, 1, 2)], [bits(4, 0), bits(4, 1), bits(4, 2)])
    w = cap.willshaw_store(p)
    np.testing.assert_array_equal(w, [[1, 0, 0, 0], [1, 0, 1, 0], [0, 1, 1, 0], [0, 1, 0, 0]])
    # by cue: W^T x = A [2,0,1,0], B [0,2,1,0], C [1,1,2,0]; threshold 2 = |x|
    np.testing.assert_array_equal(cap.willshaw_recall_cue(w, p.cues), p.contents)
    # by content: fragment {0,1} fires units {0,1} (bit 0) and {2,3} (bit 1), i.e. all four; A and B
    # are the answer, and C's units {1,2} are covered too: a false positive of the distributed code
    frag = np.array([bits(4, 0, 1), bits(4, 2)], np.uint8)
    units = cap.willshaw_recall_content(w, frag)
    np.testing.assert_array_equal(units, [[1, 1, 1, 1], [0, 1, 1, 0]])
    np.testing.assert_array_equal(cap.decode_cues(units, p), [[True, True, True], [False, False, True]])
    np.testing.assert_array_equal(cap.ideal_sets(p, frag), [[True, True, False], [False, False, True]])


def test_willshaw_with_one_hot_cues_is_a_lookup_table():
    rng = np.random.default_rng(1)
    p = cap.make_patterns(20, 30, 20, 0.5, rng)
    w = cap.willshaw_store(p)
    np.testing.assert_array_equal(w[p.cue_index], p.contents)
    np.testing.assert_array_equal(cap.willshaw_recall_cue(w, p.cues), p.contents)
    frags = cap.make_fragments(p, 2, 30, rng)
    np.testing.assert_array_equal(cap.decode_cues(cap.willshaw_recall_content(w, frags), p), cap.ideal_sets(p, frags))


def test_willshaw_false_positive_formula_by_hand():
    # one cue unit, one other pair: the silent bit fires iff that pair uses the unit (1/n) and the bit (k/m)
    assert cap.willshaw_false_positive(10, 20, 1, 4, 1) == pytest.approx(0.1 * 0.2)
    # a units all joined by one pair only if it holds the whole cue: C(n,a)^-1 * k/m, plus more pairs
    n, a, k, m = 6, 2, 3, 9
    one = cap.willshaw_false_positive(n, m, a, k, 1)
    assert one == pytest.approx((k / m) / math.comb(n, a))


def test_willshaw_add_errors_match_the_exact_formula():
    n = m = 40
    a, k, n_pairs, sets = 4, 4, 60, 60
    errors = []
    for t in range(sets):
        p = cap.make_patterns(n, m, n_pairs, k / m, np.random.default_rng(t), cue_active=a)
        got = cap.willshaw_recall_cue(cap.willshaw_store(p), p.cues)
        assert not np.any((got == 0) & (p.contents == 1))  # Willshaw's threshold never misses a stored bit
        errors.append(np.sum((got == 1) & (p.contents == 0), axis=1))
    errors = np.concatenate(errors)
    expected = (m - k) * cap.willshaw_false_positive(n, m, a, k, n_pairs - 1)
    assert 1.0 < expected < 5.0  # a regime with errors to count
    stderr = errors.std() / math.sqrt(len(errors))
    # recalls of one set share the matrix, so the effective sample is smaller: allow 5 standard errors
    assert abs(errors.mean() - expected) < 5 * stderr + 0.02 * expected


# -- Hopfield -------------------------------------------------------------------

def _binomial_cdf_below(limit: float, trials: int) -> float:
    """P(B < limit) for B ~ Binomial(trials, 1/2), summed in log space."""
    log_half = trials * math.log(0.5)
    return sum(math.exp(math.lgamma(trials + 1) - math.lgamma(b + 1) - math.lgamma(trials - b + 1) + log_half)
               for b in range(0, math.ceil(limit)))


def test_hopfield_one_step_crosstalk_is_the_exact_binomial():
    # from a stored pattern, N h_i xi_i = (N - 1) + C with C a sum of (P - 1)(N - 1) independent ±1:
    # the bit flips when C < -(N - 1), i.e. B < ((P - 1)(N - 1) - (N - 1)) / 2 with B the +1 terms
    n, p_count = 200, 60
    flips, total = 0, 0
    for t in range(20):
        xi = np.random.default_rng(t).choice([-1.0, 1.0], size=(p_count, n))
        h = xi @ cap.hopfield_store(xi)
        flips += int(np.sum(h * xi < 0))
        total += xi.size
    trials = (p_count - 1) * (n - 1)
    exact = _binomial_cdf_below((trials - (n - 1)) / 2, trials)
    assert 0.02 < exact < 0.05
    assert flips / total == pytest.approx(exact, rel=0.1)


def _mean_overlap(n: int, alpha: float, sets: int = 5) -> float:
    out = []
    for t in range(sets):
        rng = np.random.default_rng(100 + t)
        xi = rng.choice([-1.0, 1.0], size=(round(alpha * n), n))
        settled = cap.hopfield_settle(cap.hopfield_store(xi), xi, np.ones(n, bool), rng)
        out.append(np.mean(np.sum(settled * xi, axis=1) / n))
    return float(np.mean(out))


def test_hopfield_capacity_is_near_0_138_n():
    # Amit, Gutfreund & Sompolinsky: below alpha_c = 0.138 the stored patterns sit in attractors with
    # overlap >= 0.967 (0.99+ at alpha 0.1); above it those attractors are gone. N = 200: a loose check
    assert _mean_overlap(200, 0.10) > 0.98
    assert _mean_overlap(200, 0.30) < 0.7


def test_hopfield_completes_the_content_of_unbiased_pairs_below_capacity():
    # cues of n/2 active units and contents of density 1/2: unbiased ±1 patterns, 6 of 128 units' worth
    rng = np.random.default_rng(5)
    p = cap.make_patterns(64, 64, 6, 0.5, rng, cue_active=32)
    w = cap.hopfield_store(cap.bipolar(p))
    np.testing.assert_array_equal(cap.hopfield_recall_cue(w, p, p.cues, rng), p.contents)


# -- dense associative memory -----------------------------------------------------

def test_dam_argmax_returns_the_best_match_and_ties_share_the_weight():
    xi = np.array([[1, 1, 1, -1], [1, -1, -1, 1], [-1, 1, -1, 1]], float)
    free = np.array([False, False, True, True])
    # query (1, 1, ?, ?): overlaps 2, 0, 0 -> pattern 0's free part
    out = cap.dam_step(xi, np.array([[1.0, 1.0, 0.0, 0.0]]), free)
    np.testing.assert_array_equal(out, [[1, 1, 1, -1]])
    # query (0, 1, ?, ?): overlaps 1, -1, 1 -> patterns 0 and 2 share: mean (0, 1, 0, 0) -> sign -1 on ties
    out = cap.dam_step(xi, np.array([[0.0, 1.0, 0.0, 0.0]]), free)
    np.testing.assert_array_equal(out, [[0, 1, -1, -1]])
    # a finite beta is the softmax: weights e^{2b}, 1, 1 over the three patterns
    b = 0.5
    wts = np.array([math.exp(2 * b), 1.0, 1.0]) / (math.exp(2 * b) + 2)
    expected = np.where(wts @ xi > 0, 1.0, -1.0)
    out = cap.dam_step(xi, np.array([[1.0, 1.0, 0.0, 0.0]]), free, beta=b)
    np.testing.assert_array_equal(out[0, 2:], expected[2:])


def test_dam_recalls_every_content_of_distinct_cues():
    rng = np.random.default_rng(2)
    p = cap.make_patterns(16, 24, 200, 0.3, rng, cue_active=3)
    np.testing.assert_array_equal(cap.dam_recall_cue(cap.bipolar(p), p, p.cues), p.contents)


# -- bits per synapse -------------------------------------------------------------

def test_bits_per_synapse_of_a_perfect_table_is_the_content_entropy():
    rng = np.random.default_rng(4)
    n, m, k = 16, 32, 8
    p = cap.make_patterns(n, m, n, k / m, rng)
    got = cap.bits_per_synapse(p.contents, p.contents, n * m)
    assert got["exact"] == pytest.approx(n * math.log2(math.comb(m, k)) / (n * m))
    h = -(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75))  # every bit stored and recalled: H(k/m)
    assert got["mi"] == pytest.approx(h)
    assert cap.bits_per_synapse(p.contents, np.zeros_like(p.contents), n * m) == {"exact": 0.0, "mi": 0.0}


def test_mutual_information_of_a_binary_symmetric_channel():
    stored = np.array([0] * 500 + [1] * 500)
    recalled = stored.copy()
    recalled[:50] = 1       # 10% of each symbol flipped
    recalled[500:550] = 0
    e = 0.1
    assert cap.mutual_information(stored, recalled) == pytest.approx(1 + e * math.log2(e) + (1 - e) * math.log2(1 - e))


def test_synapse_counts():
    assert cap.synapses("ca3", 8, 10, 5) == cap.synapses("willshaw", 8, 10, 5) == 80
    assert cap.synapses("hopfield", 8, 10, 5) == 18 ** 2
    assert cap.synapses("dam", 8, 10, 5) == 5 * 18


# -- the sweep ----------------------------------------------------------------------

def test_every_memory_sees_the_same_patterns_whatever_else_runs():
    small = dict(sizes=((12, 12),), loads=(0.5, 1.0), densities=(0.25,), n_fragments=8, trials=2)
    alone = cap.sweep(cap.SweepConfig(memories=("hopfield",), **small))["rows"]
    together = cap.sweep(cap.SweepConfig(memories=("dam", "willshaw", "hopfield"), **small))["rows"]
    assert alone == [r for r in together if r["memory"] == "hopfield"]


def test_config_problems_name_their_field():
    problems = cap.SweepConfig(memories=("ca3", "lstm"), loads=(2.0,), densities=(0.0,), cue_active=2,
                               trials=0).problems()
    assert [p.split(":")[0] for p in problems] == ["memories", "densities", "trials", "cue_active"]
    assert cap.SweepConfig(loads=(2.0,)).problems() == [
        "loads: 2: a one-hot cue holds one memory per cue neuron (load <= 1); use cue_active > 1 for more"]


@pytest.mark.slow
def test_ca3_below_capacity_is_the_ideal_memory():
    # 8 cues x 12 bits, every cue holding a memory: the spiking network returns exactly what SymbolicCAM
    # (and the Willshaw table, which is exact on one-hot cues) returns
    rng = np.random.default_rng(7)
    p = cap.make_patterns(8, 12, 8, 0.25, rng)
    frags = [cap.make_fragments(p, f, 6, rng) for f in (1, 3)]
    by_cue, units, run = cap.ca3_recall(p, frags)
    assert run.correct == len(run.ops), run.mismatches()
    np.testing.assert_array_equal(by_cue, p.contents)
    for u, fr in zip(units, frags):
        np.testing.assert_array_equal(cap.decode_cues(u, p), cap.ideal_sets(p, fr))
        np.testing.assert_array_equal(u, cap.willshaw_recall_content(cap.willshaw_store(p), fr))
    trial = cap.score("ca3", p, by_cue, units, frags, (1, 3))
    assert (trial.recall_cue, trial.recall_content) == (1.0, {1: 1.0, 3: 1.0})
    assert trial.bits_exact == pytest.approx(8 * math.log2(math.comb(12, 3)) / 96)


def test_ca3_sequence_learns_then_recalls():
    p = patterns([bits(3, 2), bits(3, 0)], [bits(4, 0, 1), bits(4, 3)])
    ops = cap.ca3_ops(p, [np.array([bits(4, 1)], np.uint8)], spacing=8)
    assert [(op.t, op.op, op.cue, op.content) for op in ops] == [
        (0, "learn", 2, (1, 1, 0, 0)), (8, "learn", 0, (0, 0, 0, 1)),
        (16, "recall_cue", 2, None), (24, "recall_cue", 0, None), (32, "recall_content", None, (0, 1, 0, 0))]
    cam.parse_ops([{"t_ms": o.t, "op": o.op, "cue": o.cue, "content": o.content and list(o.content)} for o in ops],
                  3, 4, "ca3_ops")  # a valid sequence for the protocol
    with pytest.raises(ValueError, match="spacing must be >= 7 ms"):
        cap.ca3_ops(p, [], spacing=6)


# -- the command ----------------------------------------------------------------------

def test_capacity_json_and_plot(tmp_path, capsys):
    plot = tmp_path / "capacity.png"
    assert cli.main(["capacity", "--memories", "willshaw,dam", "--sizes", "10x20", "--loads", "0.5,1",
                     "--densities", "0.2", "--fragments", "1,2", "--json", "--plot", str(plot)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["config"]["memories"] == ["willshaw", "dam"] and "ca3" not in report["config"]
    rows = {(r["memory"], r["n_pairs"]): r for r in report["rows"]}
    assert set(rows) == {("willshaw", 5), ("willshaw", 10), ("dam", 5), ("dam", 10)}
    info = math.log2(math.comb(20, 4))
    for (memory, k), row in rows.items():
        assert row["recall_cue"] == 1.0  # one-hot cues: both are exact tables
        expected = k * info / (10 * 20 if memory == "willshaw" else k * 30)
        assert row["bits_per_synapse_exact"] == pytest.approx(expected, abs=1e-6)
    assert rows[("willshaw", 10)]["recall_content"] == {"1": 1.0, "2": 1.0}
    assert plot.stat().st_size > 10_000 and report["plot"] == str(plot)


def test_capacity_table(capsys):
    assert cli.main(["capacity", "--memories", "willshaw", "--sizes", "6x6", "--loads", "1", "--densities",
                     "0.5", "--fragments", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split() == ["memory", "size", "K", "density", "by", "cue", "frag", "2", "bits/syn", "(mi)"]
    assert out[2].split()[:6] == ["willshaw", "6x6", "6", "0.5", "1.000", "1.000"]


@pytest.mark.parametrize("argv, message", [
    (["capacity", "--memories", "willshaw", "--target", "cython"],
     "--target cython: flags of the ca3 memory, which --memories leaves out"),
    (["capacity", "--memories", "dam", "--variant", "published"], "--variant published: flags of the ca3 memory"),
    (["capacity", "--loads", "0.5,2"], "--loads: 2: a one-hot cue holds one memory per cue neuron"),
    (["capacity", "--cue-active", "3"], "--cue-active: 3: the CA3 memory has one cue neuron per memory"),
    (["capacity", "--cue-active", "3", "--memories", "willshaw", "--sizes", "2x8"],
     "--cue-active: 3 must be in [1, n_cues] for every size"),
])
def test_capacity_refuses_what_it_cannot_run(argv, message, capsys, monkeypatch):
    monkeypatch.setattr(cap, "sweep", lambda *a, **k: pytest.fail("swept despite a refused flag"))
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["capacity", "--sizes", "8y8"], "argument --sizes: must be a comma-separated list of sizes"),
    (["capacity", "--memories", "ca3,lstm"], "'lstm' is not one of ca3, willshaw, hopfield, dam"),
    (["capacity", "--densities", "0.5,1.5"], "1.5 is not in (0, 1]"),
    (["capacity", "--fragments", "0"], "argument --fragments"),
    (["capacity", "--trials", "0"], "argument --trials: must be an integer >= 1, got 0"),
])
def test_capacity_bad_values_are_refused_when_parsed(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err
