"""The host-side pair rule (``spikemem.ir.plasticity.GatedPairRule``) fed spike by spike.

The PyNN backend runs every plastic projection's weights through this class; the CA3 runs
on NEST check it end to end, slowly. These tests drive it directly with chosen pre and post
events and compare the weights with the pair formulas written out here (PyNN's amplitude
convention, traces decaying with exp(-lag * dt / tau)), the same references as
tests/test_stdp.py uses for Brian2. dt = 0.5 ms throughout, so a lag of k steps is k/2 ms.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from spikemem.ir.plasticity import GatedPairRule, pending_potentiation
from spikemem.ir.synapses import STDP, Additive, LearningGate, Multiplicative, SpikePair

DT = 0.5
TP, TM, AP, AM = 3.0, 4.0, 0.1, 0.12  # ms, ms, 1, 1
W0 = 0.5


def rule(same_step="pre_first", traces="all_to_all", weights=None, gate=None, A_plus=AP, A_minus=AM):
    return STDP(timing=SpikePair(tau_plus=TP, tau_minus=TM, A_plus=A_plus, A_minus=A_minus, traces=traces,
                                 same_step=same_step),
                weights=weights or Additive(w_min=0.0, w_max=1.0), gate=gate)


def play(r: STDP, n_pre: int, n_post: int, pre: dict[int, list[int]], post: dict[int, list[int]],
         gate_steps=(), w0=W0, steps=60):
    """All-to-all synapses (row-major), events by step: pre[step] = pre neurons, post[step] = post neurons
    whose post events act at that step. Returns the rule and what step() returned per step."""
    i, j = np.repeat(np.arange(n_pre), n_post), np.tile(np.arange(n_post), n_pre)
    pr = GatedPairRule(r, i, j, np.full(len(i), w0), DT)
    changed = {}
    for t in range(steps):
        changed[t] = pr.step(t, np.array(pre.get(t, []), dtype=np.int64), np.array(post.get(t, []), dtype=np.int64),
                             t in gate_steps)
    return pr, changed


def x(lag_steps: int, tau: float) -> float:
    """A trace of 1 after ``lag_steps`` steps."""
    return math.exp(-lag_steps * DT / tau)


LAGS = list(range(-6, 7))


@pytest.mark.parametrize("same_step", ["pre_first", "post_first"])
def test_additive_pair_at_every_lag(same_step):
    """One pre event at step 20 and post neuron k's event at 20 + LAGS[k]."""
    post = {}
    for k, lag in enumerate(LAGS):
        post.setdefault(20 + lag, []).append(k)
    pr, _ = play(rule(same_step), 1, len(LAGS), {20: [0]}, post)
    expected = []
    for lag in LAGS:
        if lag > 0 or (lag == 0 and same_step == "pre_first"):
            expected.append(W0 + AP * 1.0 * x(lag, TP))   # A_plus * w_max * x_pre
        else:
            expected.append(W0 - AM * 1.0 * x(-lag, TM))  # A_minus * w_max * x_post
    np.testing.assert_allclose(pr.state.w, expected, rtol=1e-12)


@pytest.mark.parametrize("same_step", ["pre_first", "post_first"])
def test_multiplicative_pair_at_every_lag(same_step):
    w_min, w_max, ap, am = 0.1, 0.9, 0.3, 0.5
    post = {}
    for k, lag in enumerate(LAGS):
        post.setdefault(20 + lag, []).append(k)
    pr, _ = play(rule(same_step, weights=Multiplicative(w_min=w_min, w_max=w_max), A_plus=ap, A_minus=am),
                 1, len(LAGS), {20: [0]}, post)
    expected = []
    for lag in LAGS:
        if lag > 0 or (lag == 0 and same_step == "pre_first"):
            expected.append(W0 + ap * (w_max - W0) * x(lag, TP))
        else:
            expected.append(W0 - am * (W0 - w_min) * x(-lag, TM))
    np.testing.assert_allclose(pr.state.w, expected, rtol=1e-12)


def test_additive_amplitude_scales_with_w_max_and_clips_at_both_bounds():
    w_min, w_max = 0.2, 2.0
    # post 0 two steps after the pre event (potentiation), post 1 two steps before (depression),
    # post 2 and 3 the same with amplitudes that overshoot the bounds
    small = rule(weights=Additive(w_min=w_min, w_max=w_max))
    pr, _ = play(small, 1, 2, {20: [0]}, {22: [0], 18: [1]}, w0=1.0)
    np.testing.assert_allclose(pr.state.w, [1.0 + AP * w_max * x(2, TP), 1.0 - AM * w_max * x(2, TM)],
                               rtol=1e-12)
    big = rule(weights=Additive(w_min=w_min, w_max=w_max), A_plus=3.0, A_minus=3.0)
    pr, _ = play(big, 1, 2, {20: [0]}, {22: [0], 18: [1]}, w0=1.0)
    assert list(pr.state.w) == [w_max, w_min]


def test_multiplicative_clips_at_both_bounds():
    w_min, w_max = 0.2, 0.8
    big = rule(weights=Multiplicative(w_min=w_min, w_max=w_max), A_plus=3.0, A_minus=3.0)
    # unclipped: 0.5 + 3 * 0.3 * e^(-1/6) = 1.26 and 0.5 - 3 * 0.3 * e^(-1/8) = -0.29
    pr, _ = play(big, 1, 2, {20: [0]}, {21: [0], 19: [1]})
    assert list(pr.state.w) == [w_max, w_min]


@pytest.mark.parametrize("traces", ["all_to_all", "nearest"])
def test_nearest_and_all_to_all_traces(traces):
    """Synapse 0 -> 0: pre events at 10 and 12, post at 15; synapse 1 -> 1: post at 18 and 20, pre at 25."""
    r = rule(traces=traces)
    pr = GatedPairRule(r, np.array([0, 1]), np.array([0, 1]), np.full(2, W0), DT)
    events = {10: ([0], []), 12: ([0], []), 15: ([], [0]), 18: ([], [1]), 20: ([], [1]), 25: ([1], [])}
    for t in range(30):
        pre, post = events.get(t, ([], []))
        pr.step(t, np.array(pre, dtype=np.int64), np.array(post, dtype=np.int64), False)
    if traces == "all_to_all":
        x_pre, x_post = x(5, TP) + x(3, TP), x(7, TM) + x(5, TM)
    else:
        x_pre, x_post = x(3, TP), x(5, TM)
    np.testing.assert_allclose(pr.state.w, [W0 + AP * x_pre, W0 - AM * x_post], rtol=1e-12)


def test_events_reach_only_the_synapses_of_their_neurons():
    """2 x 2 all-to-all: a pre event of neuron 1 and a post event of neuron 0 touch only their rows and
    columns; synapse 1 -> 0 sees both (lag 2: potentiation)."""
    pr, _ = play(rule(), 2, 2, {10: [1]}, {12: [0]})
    # synapses in order 0->0, 0->1, 1->0, 1->1; 0->0 gets the post event with an empty pre trace
    np.testing.assert_allclose(pr.state.w, [W0, W0, W0 + AP * x(2, TP), W0], rtol=1e-12)


def test_step_reports_whether_a_weight_changed():
    pr, changed = play(rule(), 1, 1, {10: [0], 30: [0]}, {12: [0], 40: [0]})
    # 10: a pre event with an empty post trace (no change); 12: potentiation; 30: depression by the post
    # trace of 12; 40: potentiation by the pre trace of 30; no events elsewhere
    assert [t for t, c in changed.items() if c] == [12, 30, 40]


def test_the_callers_weights_are_not_modified():
    w = np.full(1, W0)
    pr = GatedPairRule(rule(), np.array([0]), np.array([0]), w, DT)
    pr.step(0, np.array([0]), np.array([], dtype=np.int64), False)
    pr.step(1, np.array([], dtype=np.int64), np.array([0]), False)
    assert pr.state.w[0] == pytest.approx(W0 + AP * x(1, TP), rel=1e-12)
    assert w[0] == W0


# -- the learning gate -----------------------------------------------------------------------------

def gate(window=2.5, reset_traces=True, forget="none", delay=0.0):
    return LearningGate(population="g", window=window, reset_traces=reset_traces, forget=forget, delay=delay)


def test_episode_edges():
    """window 2.5 ms = 5 steps: an episode opened at step 10 covers steps 10..14."""
    pr = GatedPairRule(rule(gate=gate()), np.array([0]), np.array([0]), np.full(1, W0), DT)
    assert not any(pr.in_episode(t) for t in (-1, 0, 10))  # no episode before the gate's first spike
    pr.step(10, np.array([], dtype=np.int64), np.array([], dtype=np.int64), True)
    assert [t for t in range(8, 18) if pr.in_episode(t)] == [10, 11, 12, 13, 14]
    ungated = GatedPairRule(rule(), np.array([0]), np.array([0]), np.full(1, W0), DT)
    assert all(ungated.in_episode(t) for t in (-10**6, 0, 10**6))


@pytest.mark.parametrize("reset_traces", [False, True])
def test_changes_act_only_inside_the_episode(reset_traces):
    """Gate at 10 (steps 10..14 inside); one pre event at 12; post n0 at 11, n1 at 14 (last step inside),
    n2 at 15 (first outside), n3 at 8 (before the episode: pairs with the pre event only without
    reset_traces)."""
    pr, changed = play(rule(gate=gate(reset_traces=reset_traces)), 1, 4, {12: [0]},
                       {11: [0], 14: [1], 15: [2], 8: [3]}, gate_steps={10})
    expected = [W0 - AM * x(1, TM), W0 + AP * x(2, TP), W0, W0 if reset_traces else W0 - AM * x(4, TM)]
    np.testing.assert_allclose(pr.state.w, expected, rtol=1e-12)
    assert not changed[8] and not changed[15]  # outside: events, but no weight change


@pytest.mark.parametrize("reset_traces", [False, True])
def test_reset_traces_at_the_opening(reset_traces):
    """A pre event at 8, before the gate (10): post events at 10 and 12, inside."""
    pr, _ = play(rule(gate=gate(reset_traces=reset_traces)), 1, 2, {8: [0]}, {12: [0], 10: [1]},
                 gate_steps={10})
    expected = [W0, W0] if reset_traces else [W0 + AP * x(4, TP), W0 + AP * x(2, TP)]
    np.testing.assert_allclose(pr.state.w, expected, rtol=1e-12)


def test_reset_traces_keeps_the_traces_of_the_episode():
    """Gate at 10, pre events at 11 and 12, post at 13: both pre events inside count (all-to-all)."""
    pr, _ = play(rule(gate=gate()), 1, 1, {11: [0], 12: [0]}, {13: [0]}, gate_steps={10})
    assert pr.state.w[0] == pytest.approx(W0 + AP * (x(2, TP) + x(1, TP)), rel=1e-12)


def test_forget_pre_clears_once_per_episode():
    """Episodes at 10 and 30 (window 5 ms = 10 steps); pre events at 5 (outside), 12 and 16 (episode 1),
    32 (episode 2); post n0 at 14 and 34, n1 never. w_min = 0.05."""
    ap, am, w_min = 0.3, 0.1, 0.05
    r = rule(gate=gate(window=5.0, forget="pre"), weights=Additive(w_min=w_min, w_max=1.0), A_plus=ap, A_minus=am)
    pr, _ = play(r, 1, 2, {5: [0], 12: [0], 16: [0], 32: [0]}, {14: [0], 34: [0]}, gate_steps={10, 30}, steps=25)
    # at 12 both weights go to w_min; n0 gains ap x(2) at 14 and loses am x(2) at 16 (16 does not forget)
    np.testing.assert_allclose(pr.state.w, [w_min + ap * x(2, TP) - am * x(2, TM), w_min], rtol=1e-12)
    for t in range(25, 40):
        pr.step(t, np.array([0] if t == 32 else [], dtype=np.int64), np.array([0] if t == 34 else [], dtype=np.int64),
                t == 30)
    np.testing.assert_allclose(pr.state.w, [w_min + ap * x(2, TP), w_min], rtol=1e-12)


def test_forget_post_clears_the_incoming_weights_of_the_first_post_event():
    """Gate at 10; pre n0 at 11, n1 at 3 (outside); post n0 at 13 forgets both incoming weights, then pairs
    with n0's trace; a second post event at 15 does not forget again."""
    ap, w_min = 0.3, 0.05
    r = rule(gate=gate(window=5.0, forget="post"), weights=Additive(w_min=w_min, w_max=1.0), A_plus=ap)
    pr, _ = play(r, 2, 1, {11: [0], 3: [1]}, {13: [0], 15: [0]}, gate_steps={10})
    np.testing.assert_allclose(pr.state.w, [w_min + ap * (x(2, TP) + x(4, TP)), w_min], rtol=1e-12)


def test_forget_outside_an_episode_does_nothing():
    r = rule(gate=gate(window=5.0, forget="pre"))
    pr, _ = play(r, 1, 1, {3: [0]}, {}, gate_steps={10})
    assert pr.state.w[0] == W0


# -- the potentiation NEST applies lazily ----------------------------------------------------------

def test_pending_potentiation_additive():
    """Synapses 0 -> 0 (last pre at step 10, trace 1.5), 1 -> 0 (last pre 14, trace 1.0), 2 -> 1 (last pre 10).
    Post events: neuron 0 arriving at 12 and 16, neuron 1 at 20 (not before until = 20), neuron 0 at 14."""
    r = rule()
    w = np.array([0.5, 0.5, 0.5])
    j, kplus, last_pre = np.array([0, 0, 1]), np.array([1.5, 1.0, 1.0]), np.array([10, 14, 10])
    got = pending_potentiation(r, w, j, kplus, last_pre, np.array([0, 0, 1, 0]), np.array([12, 16, 20, 14]),
                               until=20, dt=DT)
    # 0 -> 0 gains at 12, 14 and 16; 1 -> 0 only at 16 (14 is its own pre step: not after it)
    expected = [0.5 + AP * 1.0 * 1.5 * (x(2, TP) + x(4, TP) + x(6, TP)), 0.5 + AP * 1.0 * x(2, TP), 0.5]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert list(w) == [0.5, 0.5, 0.5]  # the caller's weights stay


def test_pending_potentiation_multiplicative_in_arrival_order_and_clipped():
    r = rule(weights=Multiplicative(w_min=0.0, w_max=1.0), A_plus=0.5)
    j, kplus, last_pre = np.array([0]), np.array([1.0]), np.array([0])
    got = pending_potentiation(r, np.array([0.5]), j, kplus, last_pre, np.array([0, 0]), np.array([4, 2]),
                               until=10, dt=DT)
    w = 0.5
    for arrival in (2, 4):  # applied in arrival order, each on the weight the one before left
        w += 0.5 * (1.0 - w) * x(arrival, TP)
    assert got[0] == pytest.approx(w, rel=1e-12)
    strong = rule(weights=Additive(w_min=0.0, w_max=1.0), A_plus=5.0)
    assert list(pending_potentiation(strong, np.array([0.5]), j, kplus, last_pre, np.array([0]), np.array([1]),
                                     until=10, dt=DT)) == [1.0]


# -- edges: events in the gate's own step, forgetting with post_first, out-of-range weights ------------

def test_traces_of_the_opening_step_are_kept():
    """Gate at 10: a pre event at 10 pairs with a post event at 12; a post event at 10 with a pre event at 13."""
    pr, _ = play(rule(gate=gate(window=5.0)), 1, 1, {10: [0]}, {12: [0]}, gate_steps={10})
    assert pr.state.w[0] == pytest.approx(W0 + AP * x(2, TP), rel=1e-12)
    pr, _ = play(rule(gate=gate(window=5.0)), 1, 1, {13: [0]}, {10: [0]}, gate_steps={10})
    assert pr.state.w[0] == pytest.approx(W0 - AM * x(3, TM), rel=1e-12)


def test_forgetting_in_the_opening_step_happens_once():
    """forget pre, gate at 10: the pre event at 10 clears, post at 11 potentiates, the pre at 12 only depresses."""
    w_min = 0.05
    r = rule(gate=gate(window=5.0, forget="pre"), weights=Additive(w_min=w_min, w_max=1.0), A_minus=0.05)
    pr, _ = play(r, 1, 1, {10: [0], 12: [0]}, {11: [0]}, gate_steps={10})
    assert pr.state.w[0] == pytest.approx(w_min + AP * x(1, TP) - 0.05 * x(1, TM), rel=1e-12)


@pytest.mark.parametrize("same_step", ["pre_first", "post_first"])
def test_forget_post_with_either_order(same_step):
    """forget post, gate at 10; pre at 11; post at 13 (clears, then pairs with the pre trace)."""
    w_min = 0.05
    r = rule(same_step, gate=gate(window=5.0, forget="post"), weights=Additive(w_min=w_min, w_max=1.0))
    pr, _ = play(r, 1, 1, {11: [0]}, {13: [0]}, gate_steps={10})
    assert pr.state.w[0] == pytest.approx(w_min + AP * x(2, TP), rel=1e-12)


def test_every_change_lands_inside_the_bounds():
    """Weights handed in outside [w_min, w_max] are clipped by the first event of either side, as the Brian2
    code clips (clip(w -+ change, w_min, w_max) after every pre and post event)."""
    none = np.array([], dtype=np.int64)
    for side in ("pre", "post"):
        pr = GatedPairRule(rule(weights=Additive(w_min=0.0, w_max=1.0)), np.array([0, 0]), np.array([0, 0]),
                           np.array([1.5, -1.0]), DT)
        pr.step(10, np.array([0]) if side == "pre" else none, np.array([0]) if side == "post" else none, False)
        assert list(pr.state.w) == [1.0, 0.0], side  # no trace yet: the change is 0, the clip alone acts
