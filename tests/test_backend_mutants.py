"""The PyNN plan and the Brian2 backend's code helpers, checked where a mutation run
(benchmarks/mutation_testing.py) found them unpinned. Plans only: nothing here starts an engine.

Expected values are written out here: the PyNN parameter each IR field becomes, the delays the
timing rules of spikemem/backends/pynn_plan.py give (NEST: arrival - 1 steps, sPyNNaker: arrival),
the refusal a user reads (node, feature, backend, fix).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from spikemem import (LIF, STDP, Additive, AllToAll, IFCurrExp, LearningGate, Multiplicative, Network,
                      OneToOne, Poisson, Population, Probe, Projection, SpikePair, SpikeSource, Static)
from spikemem.backends.pynn_plan import StdpPlan, check, nest_stdp_mismatch, plan
from spikemem.errors import UnsupportedFeature, UnsupportedFeatures

EXACT = dict(cm=0.25, tau_m=10.0, tau_refrac=2.0, tau_syn_E=3.0, tau_syn_I=4.0, v_rest=-65.0, v_reset=-70.0,
             v_thresh=-50.0, i_offset=0.1, v_init=-66.0, integration="exact")
FIXED = dict(EXACT, integration="fixed_step")


def small(cell=EXACT, dt=1.0, convention="pynn", synapse=None, delay=1.0, receptor="excitatory",
          src_times=((3.0,), (5.0,))) -> Network:
    """src (2 spike sources) -> a (2 cells) -> b (2 cells); one projection src_a (one to one) and a_b."""
    return Network(dt=dt, delay_convention=convention, populations=[
        Population("src", 2, SpikeSource([list(t) for t in src_times])),
        Population("a", 2, IFCurrExp(**cell)), Population("b", 2, IFCurrExp(**cell))],
        projections=[Projection("src_a", "src", "a", OneToOne(), weight=2.0, delay=delay),
                     Projection("a_b", "a", "b", AllToAll(), weight=0.5, delay=delay, receptor=receptor,
                                synapse=synapse or Static())],
        probes=[Probe("a", ["spikes", "v"])])


def refusal(net, engine, approximations=()) -> UnsupportedFeature:
    with pytest.raises(UnsupportedFeature) as info:
        check(net, engine, approximations)
    assert not isinstance(info.value, UnsupportedFeatures), [str(r) for r in info.value.refused]
    return info.value


SPINNAKER_TIMING = SpikePair(tau_plus=5.0, tau_minus=6.0, A_plus=0.1, A_minus=0.2, traces="all_to_all",
                             post_delay=1.0, same_step="post_first")


# -- what each engine is given ------------------------------------------------------------------------

def test_ifcurrexp_parameters_per_engine():
    pynn_names = {"cm": 0.25, "tau_m": 10.0, "v_rest": -65.0, "v_reset": -70.0, "v_thresh": -50.0, "tau_refrac": 2.0,
                  "tau_syn_E": 3.0, "tau_syn_I": 4.0, "i_offset": 0.1}
    assert plan(small(), "pynn.nest").population("a").parameters == pynn_names
    # pyNN.brian2 fires on v > v_thresh and ends refractoriness a step early
    on_brian2 = plan(small(dt=0.5), "pynn.brian2").population("a").parameters
    assert on_brian2 == dict(pynn_names, v_thresh=math.nextafter(-50.0, -math.inf), tau_refrac=2.5)
    assert plan(small(FIXED), "pynn.spinnaker").population("a").parameters == pynn_names


def test_setup_per_engine():
    assert plan(small(dt=0.5), "pynn.nest").setup == {"timestep": 0.5, "min_delay": 0.5, "spike_precision": "on_grid"}
    assert plan(small(dt=0.5), "pynn.brian2").setup == {"timestep": 0.5, "min_delay": 0.5}
    assert plan(small(FIXED), "pynn.spinnaker").setup == {"timestep": 1.0}


@pytest.mark.parametrize("convention, delay, nest, spinnaker", [
    # arrival a = d + 1 (pynn) or d (spinnaker) steps; NEST gets a - 1 steps, sPyNNaker a
    ("pynn", 1.0, 1.0, 2.0), ("pynn", 3.0, 3.0, 4.0), ("spinnaker", 2.0, 1.0, 2.0), ("spinnaker", 4.0, 3.0, 4.0)])
def test_engine_delays(convention, delay, nest, spinnaker):
    assert plan(small(convention=convention, delay=delay), "pynn.nest").projection("a_b").delay == nest
    assert plan(small(convention=convention, delay=delay), "pynn.brian2").projection("a_b").delay == nest
    assert plan(small(FIXED, convention=convention, delay=delay), "pynn.spinnaker").projection("a_b").delay \
        == spinnaker


def test_min_delay_gives_the_smallest_engine_delay():
    p = plan(small(convention="spinnaker", delay=1.0), "pynn.nest", ("min_delay",))
    assert p.projection("a_b").delay == 1.0 and p.projection("src_a").delay == 1.0


def test_projection_plan_connections_weights_and_signs():
    for engine, cell, sign in (("pynn.nest", EXACT, -1), ("pynn.brian2", EXACT, -1), ("pynn.spinnaker", FIXED, 1)):
        p = plan(small(cell, receptor="inhibitory"), engine)
        ab = p.projection("a_b")
        np.testing.assert_array_equal(ab.connections, [[0, 0], [0, 1], [1, 0], [1, 1]])
        np.testing.assert_array_equal(ab.weights, [0.5] * 4)
        np.testing.assert_array_equal(ab.engine_weights, [0.5 * sign] * 4)
        assert (ab.receptor_type, ab.weight_sign, ab.pre, ab.post) == ("inhibitory", sign, "a", "b")
        src_a = p.projection("src_a")
        np.testing.assert_array_equal(src_a.connections, [[0, 0], [1, 1]])
        np.testing.assert_array_equal(src_a.engine_weights, [2.0, 2.0])
        assert (src_a.receptor_type, src_a.weight_sign) == ("excitatory", 1)


def test_cells_sources_and_recordings():
    net = small()
    net.populations.append(Population("noise", 3, Poisson(rate=5.0, start=2.0)))
    p = plan(net, "pynn.nest")
    assert [c.name for c in p.populations] == ["src", "a", "b", "noise"]
    assert p.population("a").cell_type == "IF_curr_exp" and p.population("a").record == ["spikes", "v"]
    assert p.population("b").record == []
    src = p.population("src")
    # no input in step 0: NEST's spikes are one step later than the IR's, no lead step
    assert (src.cell_type, src.spike_times, src.poisson, p.lead_steps, p.time_shift) == \
        ("SpikeSourceArray", [[4.0], [6.0]], False, 0, 1)
    noise = p.population("noise")
    assert (noise.cell_type, noise.poisson, noise.spike_times, noise.size) == ("SpikeSourceArray", True,
                                                                              [[], [], []], 3)
    np.testing.assert_array_equal(p.population("a").initial_v, [-66.0, -66.0])
    assert plan(small(), "pynn.brian2").population("src").spike_times == [[3.0], [5.0]]


@pytest.mark.parametrize("times, poisson, lead", [
    ((3.0,), None, 0), ((0.0,), None, 1), ((0.4,), None, 1), ((0.6,), None, 0),
    ((3.0,), Poisson(rate=5.0, start=0.0), 1), ((3.0,), Poisson(rate=5.0, start=0.9), 1),
    ((3.0,), Poisson(rate=5.0, start=1.0), 0), ((3.0,), Poisson(rate=0.0, start=0.0), 0)])
def test_an_input_in_the_first_step_gets_a_lead_step_on_nest_only(times, poisson, lead):
    """dt = 1 ms: a spike time that rounds to step 0, or a Poisson source active in step 0 with a rate."""
    net = small(src_times=(times, (5.0,)))
    if poisson is not None:
        net.populations.append(Population("noise", 1, poisson))
    p = plan(net, "pynn.nest")
    assert (p.lead_steps, p.time_shift) == (lead, 1 + lead)
    step = round(times[0])  # the IR's step of the first spike, played 1 + lead steps later on NEST
    assert p.population("src").spike_times[0] == [step + 1.0 + lead]
    # the membrane starts from the state that `lead` input-free steps carry to v_init
    v_inf, p22 = -65.0 + 10.0 / 0.25 * 0.1, math.exp(-1.0 / 10.0)
    expected = -66.0 if lead == 0 else v_inf + (-66.0 - v_inf) / p22
    np.testing.assert_allclose(p.population("a").initial_v, [expected] * 2, rtol=1e-15)
    assert plan(net, "pynn.brian2").lead_steps == 0


def test_a_membrane_at_its_resting_point_starts_there_after_the_lead_step():
    cell = dict(EXACT, i_offset=0.0, v_init=-65.0)
    p = plan(small(cell, src_times=((0.0,), ())), "pynn.nest")
    assert p.lead_steps == 1
    np.testing.assert_array_equal(p.population("a").initial_v, [-65.0, -65.0])


@pytest.mark.parametrize("gap, lead", [(5e-7, 1), (2e-6, 0), (-1.0, 1)])
def test_a_plastic_neuron_that_fires_in_step_0_gets_a_lead_step(gap, lead):
    """One input-free update from v_init lands ``gap`` mV below threshold; within 1e-6 mV counts as firing."""
    cell = dict(EXACT, i_offset=0.0)
    v_inf, p22 = -65.0, math.exp(-1.0 / 10.0)
    v_init = v_inf + (-50.0 - gap - v_inf) / p22
    rule = STDP(timing=SpikePair(post_delay=1.0), weights=Additive(w_max=1.0))
    net = small(cell, synapse=rule)
    net.population("b").model.v_init = v_init  # b is a plastic projection's post population
    assert plan(net, "pynn.nest").lead_steps == lead
    net.population("b").model.v_init = -66.0
    net.population("a").model.v_init = v_init  # a is the pre population of the plastic a_b: the same
    assert plan(net, "pynn.nest").lead_steps == lead


def test_only_the_ends_of_plastic_projections_count_for_the_lead_step():
    net = small(dict(EXACT, i_offset=0.0, v_init=-40.0))  # every cell fires in step 0, but nothing is plastic
    assert plan(net, "pynn.nest").lead_steps == 0


def test_plan_lookup_by_name():
    p = plan(small(), "pynn.nest")
    assert p.projection("a_b").pre == "a" and p.projection("src_a").pre == "src"
    assert p.population("b").name == "b" and p.population("src").name == "src"


# -- rules on each engine -----------------------------------------------------------------------------

@pytest.mark.parametrize("weights, a_plus, a_minus, kind", [
    (Additive(w_min=0.0, w_max=3.0), 0.1 * 3.0, 0.2 * 3.0, "additive"),  # sPyNNaker's additive rule: A * w_max
    (Multiplicative(w_min=0.1, w_max=3.0), 0.1, 0.2, "multiplicative")])
def test_spinnaker_gets_its_native_rule(weights, a_plus, a_minus, kind):
    net = small(FIXED, synapse=STDP(timing=SPINNAKER_TIMING, weights=weights))
    net.projections[1].weight = 0.5
    ab = plan(net, "pynn.spinnaker").projection("a_b")
    assert ab.stdp == StdpPlan(5.0, 6.0, a_plus, a_minus, kind, weights.w_min, 3.0)
    assert not ab.host_plastic and ab.host_reason == ""


@pytest.mark.parametrize("weights, kind", [(Additive(w_min=0.0, w_max=3.0), "additive"),
                                           (Multiplicative(w_min=0.0, w_max=2.0), "multiplicative")])
def test_nest_stdp_gets_pynns_own_amplitudes(weights, kind):
    timing = SpikePair(tau_plus=5.0, tau_minus=6.0, A_plus=0.1, A_minus=0.2, post_delay=1.0)
    ab = plan(small(synapse=STDP(timing=timing, weights=weights)), "pynn.nest", ("nest_stdp",)).projection("a_b")
    assert ab.stdp == StdpPlan(5.0, 6.0, 0.1, 0.2, kind, 0.0, weights.w_max)
    assert not ab.host_plastic and ab.host_reason == ""


def test_host_reasons_per_engine():
    rule = STDP(timing=SpikePair(post_delay=1.0), weights=Additive(w_max=1.0))
    on_nest = plan(small(synapse=rule), "pynn.nest").projection("a_b")
    assert on_nest.host_plastic and on_nest.stdp is None
    assert on_nest.host_reason == ("exact: NEST's stdp_synapse differs where a pre and a post event meet in one "
                                   "step (pass approximations=['nest_stdp'] to accept that)")
    on_brian2 = plan(small(synapse=rule), "pynn.brian2").projection("a_b")
    assert on_brian2.host_plastic and on_brian2.host_reason == \
        "no native rule with the description's weight dependence"
    net = small(FIXED, synapse=STDP(timing=SPINNAKER_TIMING, gate=LearningGate(population="src")))
    gated = plan(net, "pynn.spinnaker").projection("a_b")
    assert gated.host_plastic and gated.stdp is None and gated.host_reason == "a gated rule"
    assert plan(small(), "pynn.nest").projection("a_b").host_reason == ""  # static


@pytest.mark.parametrize("change, reason", [
    (lambda p: setattr(p, "receptor", "inhibitory"),
     "an inhibitory receptor: NEST's stdp_synapse bounds weights in [0, Wmax], PyNN signs them negative"),
    (lambda p: setattr(p.synapse.timing, "post_delay", 2.0),
     "post_delay = 2.0 ms: NEST back-propagates a post spike with the connection's own delay, 1 ms here "
     "(set post_delay: 1)"),
    (lambda p: setattr(p.synapse.weights, "w_min", 0.25), "w_min = 0.25: NEST's stdp_synapse clips weights at 0"),
    (lambda p: setattr(p.synapse.timing, "A_plus", 0.0),
     "A_plus = 0: PyNN gives NEST A_minus as a multiple of A_plus (alpha = A_minus / A_plus)"),
    (lambda p: setattr(p.synapse, "gate", LearningGate(population="src")), "a gated rule (NEST has no third factor)"),
])
def test_nest_stdp_mismatch_reasons(change, reason):
    net = small(synapse=STDP(timing=SpikePair(post_delay=1.0), weights=Additive(w_max=1.0)))
    assert nest_stdp_mismatch(net, net.projections[1], 1) == ""
    change(net.projections[1])
    assert nest_stdp_mismatch(net, net.projections[1], 1) == reason


def test_nest_stdp_with_a_zero_rule_and_one_tau_minus_per_population():
    net = small(synapse=STDP(timing=SpikePair(tau_minus=6.0, A_plus=0.0, A_minus=0.0, post_delay=1.0)))
    assert nest_stdp_mismatch(net, net.projections[1], 1) == ""  # both amplitudes 0: nothing to convert
    assert nest_stdp_mismatch(net, net.projections[1], 1, tau_minus_of_post=6.0) == ""
    assert nest_stdp_mismatch(net, net.projections[1], 1, tau_minus_of_post=7.0) == (
        "tau_minus = 6.0 ms, where another projection into 'b' on NEST's rule has 7.0 ms: NEST keeps tau_minus "
        "on the post neuron")


def test_post_delay_must_match_the_nest_delay_within_rounding():
    net = small(dt=0.1, delay=0.3, synapse=STDP(timing=SpikePair(post_delay=0.30000000000000004)))
    assert nest_stdp_mismatch(net, net.projections[1], 3) == ""
    net.projections[1].synapse.timing.post_delay = 0.2
    assert nest_stdp_mismatch(net, net.projections[1], 3).startswith("post_delay = 0.2 ms")


# -- refusals: node, feature, backend and fix ---------------------------------------------------------

def test_the_gate_of_a_pynn_engine_must_be_a_spike_source():
    net = small(synapse=STDP(timing=SpikePair(post_delay=1.0), gate=LearningGate(population="noise")))
    net.populations.append(Population("noise", 1, Poisson(rate=10.0)))
    err = refusal(net, "pynn.nest")
    assert (err.node, err.feature, err.backend, err.hint) == (
        "projections[1] (a_b).synapse.gate", "a LearningGate driven by Poisson population 'noise'", "pynn.nest",
        "PyNN engines have no gated rule; spikemem runs the gate on the host and needs the episode times in "
        "advance: drive the gate from a SpikeSource")


def test_spinnaker_refuses_another_pair_rule_timing():
    timing = SpikePair(traces="nearest", post_delay=1.0, same_step="post_first")
    err = refusal(small(FIXED, synapse=STDP(timing=timing)), "pynn.spinnaker")
    assert (err.node, err.feature, err.backend, err.hint) == (
        "projections[1] (a_b).synapse.timing", "SpikePair(traces=nearest, post_delay=1.0, same_step=post_first)",
        "pynn.spinnaker", "sPyNNaker's pair rule is traces: all_to_all, post_delay: 1.0, same_step: post_first "
        "(measured against its recordings, spikemem/data/ca3/PORTING.md)")
    check(small(FIXED, synapse=STDP(timing=SPINNAKER_TIMING)), "pynn.spinnaker")  # its own timing is fine


@pytest.mark.parametrize("delay, refused", [(1.0, False), (2.0, True)])
def test_pynn_brian2_takes_plastic_projections_of_the_shortest_delay_only(delay, refused):
    net = small(delay=delay, synapse=STDP(timing=SpikePair(post_delay=1.0)))
    check(net, "pynn.nest")  # NEST reads the weight when the spike leaves: any delay
    if not refused:
        check(net, "pynn.brian2")
        return
    err = refusal(net, "pynn.brian2")
    assert (err.node, err.feature, err.backend, err.hint) == (
        "projections[1] (a_b).delay", "a plastic projection with a delay of 2.0 ms", "pynn.brian2",
        "pyNN.brian2 reads a weight when the spike arrives, so the host's step-by-step weights reach it in time "
        "only for the shortest delay; use pynn.nest")


def test_spinnaker_plastic_projections_into_one_population_share_one_rule():
    net = small(FIXED, synapse=STDP(timing=SPINNAKER_TIMING, weights=Additive(w_max=1.0)))
    net.populations.append(Population("c", 2, IFCurrExp(**FIXED)))
    other = STDP(timing=SPINNAKER_TIMING, weights=Additive(w_max=2.0))
    net.projections.append(Projection("a_c", "a", "c", AllToAll(), weight=0.5, synapse=other))
    plan(net, "pynn.spinnaker")  # another rule into another population is fine
    net.projections[2].post = "b"
    with pytest.raises(UnsupportedFeature) as info:
        plan(net, "pynn.spinnaker")
    err = info.value
    assert (err.node, err.feature, err.backend, err.hint) == (
        "projection 'a_c'.synapse", "an STDP rule different from projection 'a_b' into the same population 'b'",
        "pynn.spinnaker", "sPyNNaker requires every plastic projection into one population to share one rule")


def test_refusals_of_dt_models_integration_and_delay():
    err = refusal(small(FIXED, dt=0.5), "pynn.spinnaker")
    assert (err.node, err.feature, err.backend, err.hint) == (
        "dt", "a step of 0.5 ms", "pynn.spinnaker", "this engine runs a 1.0 ms step only: set dt: 1.0")
    net = small()
    net.populations[2] = Population("b", 2, LIF())
    err = refusal(net, "pynn.nest")
    assert (err.node, err.feature, err.backend, err.hint) == (
        "populations[2] (b)", "LIF", "pynn.nest", "PyNN's standard models have no equivalent; use IFCurrExp")
    err = refusal(_one_step(), "pynn.nest")
    assert (err.node, err.feature, err.backend, err.hint) == (
        "projections[0] (src_a)", "a delay of 1.0 ms in the 'spinnaker' convention (the target can fire 1 step "
        "after the source)", "pynn.nest",
        "on pynn.nest a connection takes one step more than its delay, so this timing would need a delay of 0 "
        "steps, below its minimum of one: use delays of at least 2 steps in the 'spinnaker' convention (1 in "
        "'pynn'), or pass approximations=['min_delay'] (CLI: --approximate min_delay) to make it one step late")
    check(_one_step(), "pynn.nest", ("min_delay",))
    check(_one_step(), "pynn.spinnaker", ("integration",))  # sPyNNaker's arrival is its delay


def _one_step() -> Network:
    net = small(convention="spinnaker", delay=2.0)
    net.projections[0].delay = 1.0
    return net


def test_integration_refusal_and_its_approximation():
    cells = [(1, "a"), (2, "b")]
    with pytest.raises(UnsupportedFeatures) as info:
        check(small(FIXED), "pynn.nest")
    assert [(r.node, r.feature, r.backend) for r in info.value.refused] == [
        (f"populations[{k}] ({name})", "IFCurrExp with integration 'fixed_step'", "pynn.nest") for k, name in cells]
    assert info.value.refused[0].hint == (
        "pynn.nest integrates IF_curr_exp with the 'exact' scheme: set integration: exact in the description, or "
        "pass approximations=['integration'] (CLI: --approximate integration) to accept it")
    check(small(FIXED), "pynn.nest", ("integration",))
    check(small(EXACT), "pynn.spinnaker", ("integration",))


def test_unknown_engine_and_approximation():
    with pytest.raises(ValueError, match=r"unknown PyNN engine 'pynn\.x' \(available: pynn\.nest, pynn\.brian2, "
                                         r"pynn\.spinnaker\)"):
        plan(small(), "pynn.x")
    with pytest.raises(ValueError, match=r"unknown approximation\(s\) \['fast', 'rough'\]; choose from "
                                         r"'integration': run IF_curr_exp"):
        plan(small(), "pynn.nest", ("rough", "integration", "fast"))
