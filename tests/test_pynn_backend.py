"""The PyNN backend: the CA3 memory on NEST, threads, and what each engine refuses by name."""
from __future__ import annotations

import numpy as np
import pytest

import spikemem
from spikemem import (STDP, Additive, AllToAll, IFCurrExp, LearningGate, Network, OneToOne, Poisson, Population, Probe, Projection,
                      SpikeSource, UnsupportedFeature)
from spikemem.errors import UnsupportedFeatures
from spikemem.backends.pynn_plan import plan
from spikemem.tasks import cam


def assert_same_run(reference: cam.CamRun, got: cam.CamRun) -> None:
    for name, trains in reference.result.spikes.items():
        assert trains.events(1.0) == got.result.spikes[name].events(1.0), name
    for name, w in reference.result.weights.items():
        np.testing.assert_allclose(got.result.weights[name], w, atol=1e-12, rtol=0)


@pytest.mark.parametrize("experiment", ["functional", "stress", "applicability"])
def test_ca3_paper_experiments_on_nest_match_brian2(experiment):
    ops, n, m = cam.load_experiment(experiment)
    on_nest = cam.run_ops(ops, n, m, backend="pynn.nest")
    assert on_nest.correct == len(ops), on_nest.mismatches()
    assert_same_run(cam.run_ops(ops, n, m), on_nest)


@pytest.mark.slow
@pytest.mark.parametrize("size", [(5, 10), (24, 24), (128, 128)])
def test_ca3_random_sequences_on_nest(size):
    n, m = size
    ops = cam.random_ops(n, m, n_ops=100, seed=1)
    on_nest = cam.run_ops(ops, n, m, backend="pynn.nest")
    assert on_nest.correct == 100, on_nest.mismatches()
    assert_same_run(cam.run_ops(ops, n, m), on_nest)


def test_nest_threads_give_the_same_spikes():
    ops = cam.random_ops(9, 17, n_ops=30, seed=2)
    one = cam.run_ops(ops, 9, 17, backend="pynn.nest")
    two = cam.run_ops(ops, 9, 17, backend="pynn.nest", threads=2)
    import nest  # the kernel keeps the last run's settings: the option really reached NEST
    assert nest.GetKernelStatus("local_num_threads") == 2
    assert one.correct == two.correct == 30
    assert_same_run(one, two)


def test_published_variant_is_refused_on_nest_by_name():
    ops, n, m = cam.load_experiment("functional")
    net = cam.build_network(ops, n, m, variant="published")
    # every refusal at once: the fixed-step neurons and the 1-step (SpiNNaker-convention) delays
    with pytest.raises(UnsupportedFeatures) as err:
        spikemem.compile(net, backend="pynn.nest")
    nodes = [r.node for r in err.value.refused]
    one_step = [f"projections[{k}] ({p.name})" for k, p in enumerate(net.projections) if p.delay == 1.0]
    fixed = [f"populations[{k}] ({p.name})" for k, p in enumerate(net.populations)
             if getattr(p.model, "integration", None) == "fixed_step"]
    assert len(one_step) == 12 and len(fixed) == 10 and sorted(nodes) == sorted(fixed + one_step)
    text = str(err.value)
    assert "populations[2] (CA3cueCueRecall): IFCurrExp with integration 'fixed_step'" in text
    assert "projections[0] (p01_in_cue): a delay of 1.0 ms in the 'spinnaker' convention" in text
    assert "approximations=['integration']" in text and "approximations=['min_delay']" in text
    with pytest.raises(UnsupportedFeatures) as err:
        spikemem.compile(net, backend="pynn.nest", approximations=["integration"])
    assert sorted(r.node for r in err.value.refused) == sorted(one_step)


@pytest.mark.parametrize("experiment, correct, by_op", [
    ("functional", 4, {"learn": "4/4", "recall_cue": "0/2", "recall_content": "0/3"}),
    ("stress", 15, {"learn": "15/15", "recall_cue": "0/15", "recall_content": "0/30"}),
    ("applicability", 16, {"learn": "16/16", "recall_content": "0/4"}),
])
def test_published_variant_under_named_approximations_runs_and_scores(experiment, correct, by_op):
    ops, n, m = cam.load_experiment(experiment)
    run = cam.run_ops(ops, n, m, variant="published", backend="pynn.nest",
                      approximations=["integration", "min_delay"])
    # every delay-1 projection is a step late and the neurons integrate exactly: learns still store the
    # content, every recall breaks (the README's 4/9, 15/60 and 16/20)
    assert (run.correct, run.score_by_op()) == (correct, by_op), run.mismatches()
    assert correct == sum(op.op == "learn" for op in ops)


@pytest.mark.slow  # about 30 s: pyNN.brian2 runs one step at a time inside every learning episode
def test_plastic_ca3_on_pynn_brian2_matches_brian2():
    ops, n, m = cam.load_experiment("functional")
    on_pynn_brian2 = cam.run_ops(ops, n, m, backend="pynn.brian2")
    assert on_pynn_brian2.correct == len(ops), on_pynn_brian2.mismatches()
    reference = cam.run_ops(ops, n, m)
    assert sum(len(t.times) for t in reference.result.spikes.values()) > 0
    assert_same_run(reference, on_pynn_brian2)


def test_gate_must_be_driven_by_a_spike_source():
    cell = IFCurrExp(integration="exact")
    net = Network(dt=1.0, populations=[Population("a", 2, cell), Population("b", 2, cell),
                                       Population("noise", 1, Poisson(rate=10.0))],
                  projections=[Projection("ab", "a", "b", OneToOne(), weight=0.0, delay=2.0,
                                          synapse=STDP(gate=LearningGate(population="noise")))])
    for backend in ("pynn.nest", "pynn.brian2", "pynn.spinnaker"):
        with pytest.raises(UnsupportedFeature, match=r"projections\[0\] \(ab\)\.synapse\.gate: a LearningGate "
                                                     r"driven by Poisson population 'noise'"):
            plan(net, backend, approximations=("integration",) if backend == "pynn.spinnaker" else ())


def test_spinnaker_native_rule_conversion_and_sharing():
    ops, n, m = cam.load_experiment("functional")
    published = cam.build_network(ops, n, m, variant="published")
    p = plan(published, "pynn.spinnaker")
    p10 = next(q for q in p.projections if q.name.startswith("p10"))
    # sPyNNaker's additive rule adds A itself: A_plus 1 with w_max 6 becomes 6
    assert (p10.stdp.A_plus, p10.stdp.A_minus, p10.stdp.w_max) == (6.0, 6.0, 6.0) and not p10.host_plastic
    p10_rule = published.projection("p10_cue_to_content").synapse
    published.projections.append(Projection("extra", "CA3cueCueRecall", "CA3contCueRecall", AllToAll(),
                                            weight=0.0, delay=1.0,
                                            synapse=STDP(timing=p10_rule.timing, weights=Additive(w_max=3.0))))
    with pytest.raises(UnsupportedFeature, match=r"projection 'extra'.*different from projection "
                                                 r"'p10_cue_to_content' into the same population"):
        plan(published, "pynn.spinnaker")


def test_inputs_in_the_first_step_get_a_lead_step_on_nest():
    cell = IFCurrExp(integration="exact", i_offset=0.2, v_init=-62.0, tau_refrac=1.0)
    net = Network(dt=1.0, populations=[Population("src", 1, SpikeSource([[0.0, 4.0]])), Population("n", 1, cell)],
                  projections=[Projection("p", "src", "n", OneToOne(), weight=12.0, delay=2.0)],
                  probes=[Probe("n", ["spikes", "v"])])
    p = plan(net, "pynn.nest")
    assert (p.lead_steps, p.time_shift, p.population("src").spike_times) == (1, 2, [[2.0, 6.0]])
    reference = spikemem.compile(net, backend="brian2").run(20.0)
    got = spikemem.compile(net, backend="pynn.nest").run(20.0)
    assert reference.spikes["n"].events(1.0) == got.spikes["n"].events(1.0) != set()
    np.testing.assert_allclose(got.state["n"]["v"], reference.state["n"]["v"], atol=1e-9, rtol=0)


def test_segmented_runs_equal_one_run_and_a_new_compile_ends_the_old():
    ops, n, m = cam.load_experiment("functional")
    net = cam.build_network(ops, n, m)
    whole = spikemem.compile(net, backend="pynn.nest").run(100.0)
    sim = spikemem.compile(net, backend="pynn.nest")
    sim.run(37.0)
    parts = sim.run(63.0)
    for name, trains in whole.spikes.items():
        assert trains.events(1.0) == parts.spikes[name].events(1.0), name
    spikemem.compile(net, backend="pynn.nest")
    with pytest.raises(spikemem.SpikememError, match="was ended"):
        sim.run(1.0)


def test_one_cue_cam_on_nest_matches_brian2():
    """A plastic projection onto a population of one neuron (NEST hands back bare numbers)."""
    ops = cam.random_ops(1, 6, n_ops=12, seed=0)
    reference = cam.run_ops(ops, 1, 6)
    on_nest = cam.run_ops(ops, 1, 6, backend="pynn.nest")
    assert any(op.op == "learn" for op in ops) and reference.correct == len(ops)
    assert sum(len(t.times) for t in reference.result.spikes.values()) > 0
    assert on_nest.correct == len(ops), on_nest.mismatches()
    assert_same_run(reference, on_nest)
