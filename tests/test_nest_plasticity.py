"""STDP on pyNN.nest against Brian2, where the plastic weights decide the spikes.

The equivalence tests (tests/test_equivalence.py) keep their plastic weights too small
to make a target fire. Here the targets fire *because of* the plastic weights, v is
recorded, and the weights compared are the ones NEST itself holds (read back through
PyNN's ``Projection.get``), not the host rule's own copy.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import spikemem
from spikemem import (STDP, Additive, AllToAll, IFCurrExp, LearningGate, Multiplicative, Network, OneToOne,
                      Population, Probe, Projection, SpikePair, SpikeSource, Static)
from spikemem.backends import pynn_backend
from spikemem.backends.pynn_plan import plan

EXACT = dict(cm=0.27, tau_m=3.0, tau_syn_E=0.3, tau_syn_I=0.5, v_rest=-60.0, v_reset=-61.0, v_thresh=-57.0,
             v_init=-60.0, tau_refrac=2.0, i_offset=0.0, integration="exact")


def nest_weights(sim, projection: str) -> np.ndarray:
    """The weights (nA) NEST holds now, dense (n_pre, n_post), through PyNN (NaN = no synapse)."""
    return np.asarray(sim.built.projections[projection].get("weight", format="array"), dtype=float)


def assert_same(reference, got, v_tol: float = 1e-9) -> None:
    for name, trains in reference.spikes.items():
        ref, out = trains.events(reference.dt), got.spikes[name].events(got.dt)
        assert ref == out, f"{name}: only brian2 {sorted(ref - out)[:5]}, only nest {sorted(out - ref)[:5]}"
    for name, variables in reference.state.items():
        for var, values in variables.items():
            np.testing.assert_allclose(got.state[name][var], values, atol=v_tol, rtol=0)


# -- ungated STDP with weights that matter ---------------------------------------------------------------

def driven_net(first_input: float = 5.0) -> Network:
    """20 inputs -> 5 neurons, all to all and plastic only: every target spike comes from the
    plastic weights (1.2 nA each at first, strong additive STDP up to 3 nA)."""
    rng = np.random.default_rng(0)
    times = [sorted(set(np.round(first_input + np.cumsum(rng.uniform(2.0, 8.0, 12)) - 2.0, 1).tolist()))
             for _ in range(20)]
    rule = STDP(timing=SpikePair(tau_plus=5.0, tau_minus=5.0, A_plus=0.1, A_minus=0.12, post_delay=0.2),
                weights=Additive(w_min=0.0, w_max=3.0))
    return Network(dt=0.1, populations=[Population("src", 20, SpikeSource(times)),
                                        Population("n", 5, IFCurrExp(**EXACT))],
                   projections=[Projection("p", "src", "n", AllToAll(), weight=1.2, delay=0.2, synapse=rule)],
                   probes=[Probe("n", ["spikes", "v"])])


def test_ungated_stdp_sends_the_weights_of_each_step():
    """No input in the first step: the first run used to go to NEST in one piece, so NEST sent
    the initial weights all run long (60 target spikes against Brian2's 50, v off by 15 mV)."""
    net = driven_net()
    assert min(t for ts in net.population("src").model.spike_times for t in ts) >= 5.0
    reference = spikemem.compile(net, backend="brian2").run(80.0)
    sim = spikemem.compile(net, backend="pynn.nest")
    got = sim.run(80.0)
    assert len(reference.spikes["n"].times) >= 40  # the plastic weights make the targets fire
    w_ref = reference.weights["p"]
    assert np.abs(w_ref - 1.2).max() > 1.0  # and the rule moved them far
    assert_same(reference, got)
    np.testing.assert_allclose(nest_weights(sim, "p"), w_ref, atol=1e-12, rtol=0)
    np.testing.assert_allclose(got.weights["p"], w_ref, atol=1e-12, rtol=0)


# -- a plastic spike in flight carries the weight of the end of its step -----------------------------------

TP, TM, AP, AM, W0 = 4.0, 5.0, 0.08, 0.1, 0.4  # tau_plus, tau_minus, A_plus, A_minus (w_max 1), first weight


def in_flight_net(variables: list[str]) -> Network:
    """pre fires at steps 20 and 22 through a plastic delay of 3 steps (the PyNN convention: seen
    by post's update 4 steps later); a teacher makes post fire at steps 17 and 21 (post_delay 0)."""
    rule = STDP(timing=SpikePair(tau_plus=TP, tau_minus=TM, A_plus=AP, A_minus=AM, post_delay=0.0),
                weights=Additive(w_min=0.0, w_max=1.0))
    return Network(dt=1.0, populations=[Population("pre", 1, SpikeSource([[20.0, 22.0]])),
                                        Population("teacher", 1, SpikeSource([[14.0, 18.0]])),
                                        Population("post", 1, IFCurrExp(**{**EXACT, "tau_refrac": 1.0}))],
                   projections=[Projection("teach", "teacher", "post", OneToOne(), weight=20.0, delay=2.0),
                                Projection("plastic", "pre", "post", OneToOne(), weight=W0, delay=3.0,
                                           synapse=rule)],
                   probes=[Probe("post", variables)])


def test_plastic_spike_in_flight_carries_the_weight_of_its_step_on_brian2():
    result = spikemem.compile(in_flight_net(["spikes", "isyn_exc"]), backend="brian2").run(40.0)
    assert [int(round(t)) for t in result.spikes["post"].times] == [17, 21]  # set-up: the teacher's timing
    # the rule by hand: post event at 17 (no pre trace yet), pre at 20, post at 21, pre at 22
    w_20 = W0 - AM * math.exp(-3 / TM)                        # depression by the post trace of 17
    w_21 = w_20 + AP * math.exp(-1 / TP)                      # potentiation by the pre trace of 20
    w_22 = w_21 - AM * (math.exp(-5 / TM) + math.exp(-1 / TM))  # both post spikes' traces
    np.testing.assert_allclose(result.weights["plastic"], [[w_22]], atol=1e-12, rtol=0)
    i_e = result.state["post"]["isyn_exc"][:, 0]
    p11 = math.exp(-1.0 / EXACT["tau_syn_E"])
    jump = i_e[1:] - p11 * i_e[:-1]  # jump[k - 1]: the input that entered in step k (exact scheme: w nA)
    # the spike of step 20 enters post's current in step 23 (3 steps of pathway delay), that of 22 in 25,
    # each with the weight of the end of its own step, not the weight when it arrives (w_22 for both)
    np.testing.assert_allclose([jump[22], jump[24]], [w_20, w_22], atol=1e-12, rtol=0)
    assert abs(w_20 - w_22) > 0.05 and abs(jump[23]) < 1e-12 and abs(jump[21]) < 1e-12


def test_plastic_spike_in_flight_on_nest_matches_brian2():
    net = in_flight_net(["spikes", "v"])
    reference = spikemem.compile(net, backend="brian2").run(40.0)
    sim = spikemem.compile(net, backend="pynn.nest")
    got = sim.run(40.0)
    assert sim.plan.projection("plastic").host_plastic and sim.plan.projection("plastic").delay == 3.0
    assert_same(reference, got)
    np.testing.assert_allclose(nest_weights(sim, "plastic"), reference.weights["plastic"], atol=1e-12, rtol=0)


def test_weights_are_read_at_the_end_of_the_run_not_of_the_step_nest_computes_ahead():
    """pre fires at step 22, the first step after a 22 ms run: NEST has computed it (it runs a step
    ahead) and the host applied its depression, but the run's weights are those of step 21."""
    net = in_flight_net(["spikes", "v"])
    w_21 = W0 - AM * math.exp(-3 / TM) + AP * math.exp(-1 / TP)
    sim = spikemem.compile(net, backend="pynn.nest")
    np.testing.assert_allclose(sim.run(22.0).weights["plastic"], [[w_21]], atol=1e-12, rtol=0)
    reference = spikemem.compile(net, backend="brian2")
    np.testing.assert_allclose(reference.run(22.0).weights["plastic"], [[w_21]], atol=1e-12, rtol=0)
    got = sim.run(18.0)  # and the next run goes on from there
    assert_same(reference.run(18.0), got)
    np.testing.assert_allclose(got.weights["plastic"], reference.weights("plastic"), atol=1e-12, rtol=0)


# -- NEST's own stdp_synapse (approximation "nest_stdp") ----------------------------------------------------

FAST = dict(cm=0.14, tau_m=0.5, tau_syn_E=0.3, tau_syn_I=0.3, v_rest=-60.0, v_reset=-60.0,
            v_thresh=-57.0, v_init=-60.0, tau_refrac=1.0, i_offset=0.0, integration="exact")


def parity_net(weights=None) -> Network:
    """20 inputs firing on even steps only -> 5 neurons, all to all, plastic, dt = 1 ms, delay 2 steps.

    The neurons' time constants (0.5 and 0.3 ms) let v decay within a step, so a neuron can only fire
    in a step where input arrives: 3 steps after an input spike, an odd step. Its post events act
    post_delay = 2 steps later, also odd: no pre event ever meets a post event in one step, the one
    case where NEST's stdp_synapse differs from the rule. The targets fire through the plastic
    weights alone (85 spikes; 70 with the weights frozen).
    """
    rng = np.random.default_rng(1)
    times = [sorted(set((2 * rng.integers(2, 148, 14)).tolist())) for _ in range(20)]
    rule = STDP(timing=SpikePair(tau_plus=8.0, tau_minus=8.0, A_plus=0.06, A_minus=0.05, post_delay=2.0),
                weights=weights or Additive(w_min=0.0, w_max=3.0))
    return Network(dt=1.0, populations=[Population("src", 20, SpikeSource([[float(t) for t in ts] for ts in times])),
                                        Population("n", 5, IFCurrExp(**FAST))],
                   projections=[Projection("p", "src", "n", AllToAll(), weight=1.5, delay=2.0, synapse=rule)],
                   probes=[Probe("src", ["spikes"]), Probe("n", ["spikes", "v"])])


@pytest.mark.parametrize("weights", [Additive(w_min=0.0, w_max=3.0), Multiplicative(w_min=0.0, w_max=4.0)],
                         ids=["additive", "multiplicative"])
def test_nest_stdp_matches_brian2_where_no_pre_and_post_event_meet(weights):
    net = parity_net(weights)
    reference = spikemem.compile(net, backend="brian2").run(300.0)
    pre = {int(round(t)) for t in reference.spikes["src"].times}
    post_events = {int(round(t)) + 2 for t in reference.spikes["n"].times}
    assert pre and post_events and not pre & post_events and all(t % 2 == 0 for t in pre)
    frozen = Network(dt=net.dt, populations=net.populations,
                     projections=[Projection("p", "src", "n", AllToAll(), weight=1.5, delay=2.0, synapse=Static())],
                     probes=net.probes)
    frozen_spikes = spikemem.compile(frozen, backend="brian2").run(300.0).spikes["n"].events(1.0)
    assert reference.spikes["n"].events(1.0) != frozen_spikes  # the plastic weights decide the spikes
    sim = spikemem.compile(net, backend="pynn.nest", approximations=["nest_stdp"])
    p = sim.plan.projection("p")
    assert not p.host_plastic and p.stdp is not None and not sim._rules  # on NEST's rule, not the host's
    got = sim.run(300.0)
    assert_same(reference, got)
    # NEST's weights plus the potentiation it applies at each synapse's next pre spike
    np.testing.assert_allclose(got.weights["p"], reference.weights["p"], atol=1e-12, rtol=0)


def test_without_the_approximation_pair_rules_run_on_the_host():
    sim = spikemem.compile(parity_net(), backend="pynn.nest")
    p = sim.plan.projection("p")
    assert p.host_plastic and p.stdp is None and "p" in sim._rules
    assert "approximations=['nest_stdp']" in p.host_reason


def test_nest_stdp_applies_neither_change_of_a_same_step_pair():
    """pre fires at step 20; post fires at 18 and its event acts 2 steps later, also at 20. The rule
    (pre_first) potentiates by A_plus * w_max (the pre trace is 1); NEST's stdp_synapse does nothing."""
    rule = STDP(timing=SpikePair(tau_plus=TP, tau_minus=TM, A_plus=AP, A_minus=AM, post_delay=2.0),
                weights=Additive(w_min=0.0, w_max=1.0))
    net = Network(dt=1.0, populations=[Population("pre", 1, SpikeSource([[20.0]])),
                                       Population("teacher", 1, SpikeSource([[15.0]])),
                                       Population("post", 1, IFCurrExp(**EXACT))],
                  projections=[Projection("teach", "teacher", "post", OneToOne(), weight=20.0, delay=2.0),
                               Projection("plastic", "pre", "post", OneToOne(), weight=W0, delay=2.0,
                                          synapse=rule)],
                  probes=[Probe("post", ["spikes"])])
    reference = spikemem.compile(net, backend="brian2").run(40.0)
    assert [int(round(t)) for t in reference.spikes["post"].times] == [18]
    np.testing.assert_allclose(reference.weights["plastic"], [[W0 + AP]], atol=1e-12, rtol=0)
    got = spikemem.compile(net, backend="pynn.nest", approximations=["nest_stdp"]).run(40.0)
    assert got.spikes["post"].events(1.0) == reference.spikes["post"].events(1.0)
    np.testing.assert_allclose(got.weights["plastic"], [[W0]], atol=1e-12, rtol=0)


@pytest.mark.parametrize("change, reason", [
    (lambda r: setattr(r.timing, "post_delay", 1.0), "post_delay = 1.0 ms"),
    (lambda r: setattr(r.timing, "traces", "nearest"), "nearest traces"),
    (lambda r: setattr(r.weights, "w_min", 0.1), "w_min = 0.1"),
    (lambda r: setattr(r.timing, "A_plus", 0.0), "A_plus = 0"),
    (lambda r: setattr(r, "gate", LearningGate(population="src")), "a gated rule"),
])
def test_what_nest_stdp_cannot_run_stays_exact_on_the_host(change, reason):
    net = parity_net()
    change(net.projections[0].synapse)
    p = plan(net, "pynn.nest", ("nest_stdp",)).projection("p")
    assert p.host_plastic and p.stdp is None and p.host_reason.startswith(reason), p.host_reason


def test_one_tau_minus_per_population_on_nest_stdp():
    """NEST keeps tau_minus on the post neuron: a second rule into the same population with another
    tau_minus stays on the host."""
    net = parity_net()
    other = STDP(timing=SpikePair(tau_plus=8.0, tau_minus=3.0, A_plus=0.06, A_minus=0.05, post_delay=2.0),
                 weights=Additive(w_min=0.0, w_max=3.0))
    net.projections.append(Projection("q", "src", "n", AllToAll(), weight=0.1, delay=2.0, synapse=other))
    p = plan(net, "pynn.nest", ("nest_stdp",))
    assert p.projection("p").stdp is not None and not p.projection("p").host_plastic
    assert p.projection("q").host_plastic and "another projection into 'n'" in p.projection("q").host_reason


# -- a slow host-stepped run says so first ----------------------------------------------------------------

def test_a_slow_host_stepped_run_warns_with_an_estimate(monkeypatch):
    monkeypatch.setattr(pynn_backend, "SLOW_RUN_S", 0.0)  # every run counts as slow
    net = driven_net(first_input=0.0)  # an input in step 0: NEST gets a lead step, every step runs alone
    sim = spikemem.compile(net, backend="pynn.nest")
    with pytest.warns(pynn_backend.HostSteppingWarning) as caught:
        sim.run(10.0)
    assert len(caught) == 1
    text = str(caught[0].message)
    # 100 steps and the one NEST computes ahead, less the 20 that were timed
    assert "'p' (exact: " in text and "81 more steps at about" in text and "approximations=['nest_stdp']" in text
    with warnings.catch_warnings():
        warnings.simplefilter("error", pynn_backend.HostSteppingWarning)
        spikemem.compile(net, backend="pynn.nest", approximations=["nest_stdp"]).run(10.0)  # nothing stepped
        monkeypatch.setattr(pynn_backend, "SLOW_RUN_S", 1e9)
        spikemem.compile(net, backend="pynn.nest").run(10.0)  # stepped, but estimated quick
