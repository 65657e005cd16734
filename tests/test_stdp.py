"""STDP on Brian2 (numpy target): the weight change of known spike pairs equals the rule's formula.

Set-up (dt = 1 ms): a SpikeSource ``pre``, a SpikeSource ``teacher`` that makes each ``post``
neuron (the CA3 model's fast fixed-step cell) fire at a chosen step (teacher spike one step
earlier through a strong 1 ms projection), and a plastic projection pre -> post whose weights
(<= 1 nA, < 0.9 mV) never make post fire by themselves. Each test checks that post fired
exactly when intended, then compares ``result.weights`` with the formula.

Timing (SpikePair docstring, brian2 backend): a pre event acts at the pre spike's step, a
post event ``post_delay`` after the post spike. Lag = t_post_arrival - t_pre.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import spikemem
from spikemem import (STDP, Additive, AllToAll, FromList, IFCurrExp, LearningGate, Multiplicative,
                      Network, OneToOne, Population, Probe, Projection, SpikePair, SpikeSource)

FAST = dict(cm=0.14, tau_m=0.5, tau_syn_E=0.3, tau_syn_I=0.3, v_rest=-60.0, v_reset=-60.0,
            v_thresh=-57.0, v_init=-60.0, tau_refrac=1.0, i_offset=0.0, integration="fixed_step")
TP, TM, AP, AM = 3.0, 4.0, 0.1, 0.12  # tau_plus, tau_minus, A_plus, A_minus
W0 = 0.5


def build(pre_times, post_fire, synapse, w0=W0, connector=None, gate_times=None):
    """pre_times: spike times (ms) per pre neuron; post_fire: steps at which each post neuron
    must fire; gate_times: spike times of a 1-neuron gate population."""
    pops = [Population("pre", len(pre_times), SpikeSource([[float(t) for t in ts] for ts in pre_times])),
            Population("teacher", len(post_fire), SpikeSource([[t - 1.0 for t in ts] for ts in post_fire])),
            Population("post", len(post_fire), IFCurrExp(**FAST))]
    if gate_times is not None:
        pops.append(Population("gate", 1, SpikeSource([[float(t) for t in gate_times]])))
    projs = [Projection("teach", "teacher", "post", OneToOne(), weight=20.0, delay=1.0),
             Projection("plastic", "pre", "post", connector or AllToAll(), weight=w0, delay=1.0,
                        synapse=synapse)]
    # the teacher fires one step before its target, through a delay of 1 in sPyNNaker's convention
    net = Network(dt=1.0, delay_convention="spinnaker", populations=pops, projections=projs,
                  probes=[Probe("post", ["spikes", "v"])])
    return spikemem.compile(net, backend="brian2", target="numpy")


def check_post(result, post_fire):
    got = [sorted(int(round(t)) for t in ts) for ts in result.spikes["post"].per_neuron()]
    assert got == [sorted(ts) for ts in post_fire], "test set-up: post fired at other steps"


def run_pairs(pre_times, post_fire, synapse, duration=60.0, **kw):
    result = build(pre_times, post_fire, synapse, **kw).run(duration)
    check_post(result, post_fire)
    return result


def rule(same_step="pre_first", post_delay=0.0, traces="all_to_all", weights=None, gate=None,
         tau_plus=TP, tau_minus=TM, A_plus=AP, A_minus=AM):
    return STDP(timing=SpikePair(tau_plus=tau_plus, tau_minus=tau_minus, A_plus=A_plus,
                                 A_minus=A_minus, traces=traces, post_delay=post_delay,
                                 same_step=same_step),
                weights=weights or Additive(w_min=0.0, w_max=1.0), gate=gate)


LAGS = list(range(-6, 7))
T_PRE = 20


def lag_sweep(synapse, post_delay):
    """One pre spike at T_PRE, post neuron k arriving at T_PRE + LAGS[k]: one pair per synapse."""
    post_fire = [[T_PRE + lag - post_delay] for lag in LAGS]
    result = run_pairs([[T_PRE]], post_fire, synapse)
    assert result.weights["plastic"].shape == (1, len(LAGS))
    return result.weights["plastic"][0]


@pytest.mark.parametrize("post_delay", [0, 1])
@pytest.mark.parametrize("same_step", ["pre_first", "post_first"])
def test_additive_pair(same_step, post_delay):
    w_min, w_max = 0.0, 1.0
    w = lag_sweep(rule(same_step, float(post_delay)), post_delay)
    expected = []
    for lag in LAGS:
        if lag > 0 or (lag == 0 and same_step == "pre_first"):  # pre before post: potentiation
            dw = AP * w_max * math.exp(-lag / TP)
        else:  # post before pre: depression
            dw = -AM * w_max * math.exp(lag / TM)
        expected.append(min(max(W0 + dw, w_min), w_max))
    np.testing.assert_allclose(w, expected, rtol=1e-12)
    zero = LAGS.index(0)
    assert w[zero] == pytest.approx(W0 + AP if same_step == "pre_first" else W0 - AM)


@pytest.mark.parametrize("same_step", ["pre_first", "post_first"])
def test_multiplicative_pair(same_step):
    w_min, w_max, ap, am, post_delay = 0.1, 0.9, 0.3, 0.5, 1
    syn = rule(same_step, float(post_delay), weights=Multiplicative(w_min=w_min, w_max=w_max),
               A_plus=ap, A_minus=am)
    w = lag_sweep(syn, post_delay)
    expected = []
    for lag in LAGS:
        if lag > 0 or (lag == 0 and same_step == "pre_first"):
            dw = ap * (w_max - W0) * math.exp(-lag / TP)
        else:
            dw = -am * (W0 - w_min) * math.exp(lag / TM)
        expected.append(W0 + dw)
    np.testing.assert_allclose(w, expected, rtol=1e-12)


@pytest.mark.parametrize("dep", [Additive(w_min=0.2, w_max=0.8), Multiplicative(w_min=0.2, w_max=0.8)])
def test_weights_are_clipped(dep):
    syn = rule(weights=dep, A_plus=3.0, A_minus=3.0)
    result = run_pairs([[T_PRE]], [[T_PRE + 1], [T_PRE - 1], [T_PRE + 15]], syn)
    w = result.weights["plastic"][0]
    if isinstance(dep, Additive):
        assert w[0] == 0.8 and w[1] == 0.2  # would be 0.5 +- 3 * 0.8 * e^(-1/tau)
        assert w[2] == pytest.approx(W0 + 3.0 * 0.8 * math.exp(-15 / TP))  # not clipped
    else:  # unclipped: 0.5 + 3 * 0.3 * e^(-1/3) = 1.145, 0.5 - 3 * 0.3 * e^(-1/4) = -0.20
        assert w[0] == 0.8 and w[1] == 0.2
        assert w[2] == pytest.approx(W0 + 3.0 * (0.8 - W0) * math.exp(-15 / TP))


@pytest.mark.parametrize("traces", ["all_to_all", "nearest"])
def test_nearest_vs_all_to_all_traces(traces):
    # synapse 0 -> 0: pre at 10 and 12, post at 15; synapse 1 -> 1: post at 18 and 20, pre at 25
    syn = rule(traces=traces)
    result = run_pairs([[10, 12], [25]], [[15], [18, 20]], syn, connector=FromList([[0, 0], [1, 1]]))
    w = result.weights["plastic"]
    assert np.isnan(w[0, 1]) and np.isnan(w[1, 0])  # no such synapses
    if traces == "all_to_all":
        x_pre = math.exp(-5 / TP) + math.exp(-3 / TP)  # both pre spikes count
        x_post = math.exp(-7 / TM) + math.exp(-5 / TM)
    else:
        x_pre = math.exp(-3 / TP)  # only the nearest (latest) one
        x_post = math.exp(-5 / TM)
    assert w[0, 0] == pytest.approx(W0 + AP * x_pre, rel=1e-12)
    assert w[1, 1] == pytest.approx(W0 - AM * x_post, rel=1e-12)


def test_updated_weight_is_transmitted():
    """PORTING.md item 5: a pre event is applied at its step and the updated weight is sent.
    Zero-lag post->pre pair with post_first: the pre spike depresses by A_minus * w_max first,
    and post receives w0 - A_minus * w_max."""
    t_post, w0, am = 10, 0.8, 0.5
    syn = rule("post_first", 1.0, A_minus=am)
    result = run_pairs([[t_post + 1]], [[t_post]], syn, w0=w0)
    w_sent = w0 - am * 1.0
    assert result.weights["plastic"][0, 0] == pytest.approx(w_sent)
    # post: fires at t_post, refractory at t_post + 1, integrates again at t_post + 2 with what
    # is left of the teacher's current plus the transmitted spike (fixed-step scheme, PORTING 2)
    v = result.state["post"]["v"][:, 0]
    scale = 0.3 * (1 - math.exp(-1 / 0.3))
    decay_s, decay_m, R = math.exp(-1 / 0.3), math.exp(-1 / 0.5), 0.5 / 0.14
    current = 20.0 * scale * decay_s ** 2 + w_sent * scale
    alpha = -60.0 + R * current
    assert v[t_post + 1] == -60.0
    assert v[t_post + 2] == pytest.approx(alpha - decay_m * (alpha + 60.0), rel=1e-12)


def test_post_delay_shifts_the_pairing():
    """post_delay: the post event arrives post_delay after the post spike, so the same spikes
    give different changes for post_delay 0 and 2 (pre at 20, post spike at 19)."""
    out = {}
    for post_delay in (0.0, 2.0):
        result = run_pairs([[20]], [[19]], rule(post_delay=post_delay))
        out[post_delay] = result.weights["plastic"][0, 0]
    assert out[0.0] == pytest.approx(W0 - AM * math.exp(-1 / TM))  # lag -1: depression
    assert out[2.0] == pytest.approx(W0 + AP * math.exp(-1 / TP))  # lag +1: potentiation


# -- the learning gate -------------------------------------------------------------

@pytest.mark.parametrize("reset_traces", [False, True])
def test_gate_window_edges(reset_traces):
    """Gate spike at 10, window 5 ms: steps 10..14 are inside."""
    gate = LearningGate(population="gate", window=5.0, reset_traces=reset_traces, forget="none")
    # one pre spike at 12; post n0 at 11, n1 at 14 (last step inside), n2 at 15 (first outside),
    # n3 at 8 (before the episode)
    result = run_pairs([[12]], [[11], [14], [15], [8]], rule(gate=gate), gate_times=[10])
    w = result.weights["plastic"][0]
    expected = [W0 - AM * math.exp(-1 / TM), W0 + AP * math.exp(-2 / TP), W0,
                W0 if reset_traces else W0 - AM * math.exp(-4 / TM)]
    np.testing.assert_allclose(w, expected, rtol=1e-12)


def test_gate_blocks_changes_outside_the_window():
    pre, post = [[20], [3]], [[18], [22], [12], [5]]
    conn = FromList([[0, 0], [0, 1], [0, 2], [1, 3]])
    gate = LearningGate(population="gate", window=5.0, reset_traces=False)
    gated = run_pairs(pre, post, rule(gate=gate), connector=conn, gate_times=[10])
    free = run_pairs(pre, post, rule(), connector=conn, gate_times=[10])
    idx = ([0, 0, 0, 1], [0, 1, 2, 3])
    # without the gate every synapse changes ...
    np.testing.assert_allclose(free.weights["plastic"][idx],
                               [W0 - AM * math.exp(-2 / TM), W0 + AP * math.exp(-2 / TP),
                                W0 - AM * math.exp(-8 / TM), W0 + AP * math.exp(-2 / TP)], rtol=1e-12)
    # ... with it (episode 10..14) none does: all events fall before or after the episode
    np.testing.assert_array_equal(gated.weights["plastic"][idx], [W0] * 4)


@pytest.mark.parametrize("reset_traces", [False, True])
def test_gate_reset_traces(reset_traces):
    """A pre spike before the episode (8) pairs with post spikes inside it only without
    reset_traces; a post event in the gate's own step (10) is already inside."""
    gate = LearningGate(population="gate", window=5.0, reset_traces=reset_traces)
    result = run_pairs([[8]], [[12], [10]], rule(gate=gate), gate_times=[10])
    if reset_traces:
        expected = [W0, W0]
    else:
        expected = [W0 + AP * math.exp(-4 / TP), W0 + AP * math.exp(-2 / TP)]
    np.testing.assert_allclose(result.weights["plastic"][0], expected, rtol=1e-12)


@pytest.mark.parametrize("forget", ["pre", "none"])
def test_gate_forget_pre(forget):
    """Episodes 10..19 and 30..39. pre spikes at 5 (outside), 12 (first in episode 1),
    16 (second in episode 1), 32 (first in episode 2); post n0 fires at 14 and 34, n1 never."""
    ap, am, tau = 0.3, 0.1, 3.0
    gate = LearningGate(population="gate", window=10.0, reset_traces=True, forget=forget)
    syn = rule(gate=gate, A_plus=ap, A_minus=am, tau_plus=tau, tau_minus=tau)
    post_fire = [[14, 34], []]
    sim = build([[5, 12, 16, 32]], post_fire, syn, gate_times=[10, 30])
    first = sim.run(25.0)
    second = sim.run(25.0)
    check_post(second, post_fire)
    e2 = math.exp(-2 / tau)
    if forget == "pre":
        # at 12 both weights go to w_min = 0; n0 then gains ap e2 at 14, loses am e2 at 16
        # (the second pre spike of the episode does not forget again)
        np.testing.assert_allclose(first.weights["plastic"][0], [(ap - am) * e2, 0.0], rtol=1e-12)
        # at 32 (new episode) forgotten again, then n0 gains ap e2 at 34
        np.testing.assert_allclose(second.weights["plastic"][0], [ap * e2, 0.0], rtol=1e-12)
    else:
        np.testing.assert_allclose(first.weights["plastic"][0], [W0 + (ap - am) * e2, W0], rtol=1e-12)
        np.testing.assert_allclose(second.weights["plastic"][0], [W0 + (2 * ap - am) * e2, W0],
                                   rtol=1e-12)
    # the weight is forgotten before the spike is transmitted: the pre spike at 5 (outside the
    # episode) reaches n1 with w0, the one at 12 with w_min = 0 when forgetting
    v1 = second.state["post"]["v"][:, 1] + 60.0
    psp = 0.5 / 0.14 * (1 - math.exp(-1 / 0.5)) * 0.3 * (1 - math.exp(-1 / 0.3))  # mV per nA
    assert v1[6] == pytest.approx(W0 * psp, rel=1e-9)
    if forget == "pre":
        assert abs(v1[13]) < 1e-4
    else:
        assert v1[13] == pytest.approx(W0 * psp, rel=1e-4)


def test_gate_forget_post():
    """forget="post": the first post event of a neuron inside the episode sets all its incoming
    weights to w_min before pairing."""
    ap = 0.3
    gate = LearningGate(population="gate", window=10.0, reset_traces=True, forget="post")
    result = run_pairs([[11], [3]], [[13]], rule(gate=gate, A_plus=ap), gate_times=[10])
    w = result.weights["plastic"][:, 0]
    np.testing.assert_allclose(w, [ap * math.exp(-2 / TP), 0.0], rtol=1e-12)
