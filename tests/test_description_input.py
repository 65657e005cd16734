"""What a user writes reaches every backend as written: per-neuron initial state,
numpy arrays, round trips, and every problem of a description reported at once."""
from __future__ import annotations

import math

import numpy as np
import pytest

import spikemem
from spikemem import (LIF, STDP, AllToAll, DescriptionError, FromList, IFCurrExp, Network, Normal,
                      OneToOne, Poisson, Population, Probe, Projection, SpikePair, SpikeSource, Uniform)
from spikemem.errors import UnsupportedFeatures
from spikemem.ir.connectivity import initial_values

CELL = dict(cm=0.25, tau_m=10.0, tau_syn_E=2.0, tau_syn_I=2.0, v_rest=-65.0, v_reset=-70.0,
            v_thresh=-40.0, tau_refrac=1.0)


def resting(v_init, size=4, seed=0, dt=0.1) -> Network:
    """Cells without input: each relaxes from its own v_init towards v_rest."""
    return Network(dt=dt, seed=seed, populations=[Population("cells", size, IFCurrExp(**CELL, v_init=v_init))],
                   probes=[Probe("cells", ["v"])])


def relaxed(v0: np.ndarray, steps: int, dt: float = 0.1) -> np.ndarray:
    """v after ``steps`` input-free steps: v_rest + (v0 - v_rest) e^(-t/tau_m)."""
    return CELL["v_rest"] + (v0 - CELL["v_rest"]) * math.exp(-steps * dt / CELL["tau_m"])


# -- per-neuron initial state ----------------------------------------------------

@pytest.mark.parametrize("backend", spikemem.supporting("IFCurrExp.exact"))
@pytest.mark.parametrize("v_init", [[-80.0, -66.0, -55.0, -41.0], Uniform(-70.0, -45.0), Normal(-60.0, 4.0)],
                         ids=["list", "uniform", "normal"])
def test_each_neuron_starts_from_its_own_v_init(backend, v_init):
    net = resting(v_init)
    v0 = initial_values(net, net.population("cells"))
    assert len(set(v0.tolist())) == 4  # one value per neuron
    v = spikemem.compile(net, backend=backend).run(3.0).state["cells"]["v"]
    np.testing.assert_allclose(v[0], relaxed(v0, 1), atol=1e-9, rtol=0)
    np.testing.assert_allclose(v[-1], relaxed(v0, 30), atol=1e-9, rtol=0)


def test_drawn_initial_values_follow_the_seed_and_the_distribution():
    net = resting(Uniform(-70.0, -45.0), size=5000)
    v0 = initial_values(net, net.population("cells"))
    assert v0.min() >= -70.0 and v0.max() < -45.0
    assert abs(v0.mean() - (-57.5)) < 0.5 and abs(v0.std() - 25.0 / math.sqrt(12)) < 0.3
    np.testing.assert_array_equal(v0, initial_values(net, net.population("cells")))  # reproducible
    reseeded = resting(Uniform(-70.0, -45.0), size=5000, seed=1)
    assert not np.array_equal(v0, initial_values(reseeded, reseeded.population("cells")))
    gauss = resting(Normal(-60.0, 4.0), size=5000)
    normal = initial_values(gauss, gauss.population("cells"))
    assert abs(normal.mean() + 60.0) < 0.3 and abs(normal.std() - 4.0) < 0.2 and normal.max() > -60.0 + 8
    # adding a node draws from its own generator: the cells' draws stay
    net.populations.append(Population("more", 3, IFCurrExp(**CELL, v_init=Uniform(-70.0, -45.0))))
    np.testing.assert_array_equal(v0, initial_values(net, net.population("cells")))


def test_lif_mem_init_per_neuron():
    mem0 = [0.0, 0.3, 1.5, -0.4]
    net = Network(dt=1.0, populations=[Population("lif", 4, LIF(beta=0.5, threshold=1.0, mem_init=mem0))],
                  probes=[Probe("lif", ["spikes", "mem"])])
    r = spikemem.compile(net, backend="brian2").run(3.0)
    # snnTorch Leaky with no input: mem = beta * mem - reset * threshold, reset = mem_prev > threshold
    want, spikes, mem = [], [], np.array(mem0)
    for _ in range(3):
        mem = 0.5 * mem - (mem > 1.0) * 1.0
        want.append(mem.copy())
    np.testing.assert_allclose(r.state["lif"]["mem"], np.array(want), atol=1e-12)


def test_a_list_of_the_wrong_length_is_named():
    problems = resting([-60.0, -61.0]).validate()
    assert problems == ["populations[0].model.v_init: needs one value per neuron (4), got 2"]
    bad = resting(Uniform(-40.0, -70.0)).validate()
    assert bad == ["populations[0].model.v_init.high: must be >= low (-40.0)"]


def test_initial_values_round_trip_in_files(tmp_path):
    net = resting(Normal(-60.0, 4.0))
    net.populations.append(Population("lif", 3, LIF(mem_init=[0.1, 0.2, 0.3])))
    spikemem.dump(net, tmp_path / "net.yaml")
    back = spikemem.load(tmp_path / "net.yaml")
    assert back == net
    text = (tmp_path / "net.yaml").read_text()
    assert "v_init: {type: normal, mean: -60.0, std: 4.0}" in text and "mem_init: [0.1, 0.2, 0.3]" in text


# -- numpy arrays and round trips ------------------------------------------------

def numpy_net() -> Network:
    pairs = np.array([[0, 1], [1, 2], [2, 0]])
    return Network(dt=1.0, populations=[
        Population("src", 3, SpikeSource([[1.0], [2.0], [3.0]])),
        Population("dst", 3, IFCurrExp(**CELL))],
        projections=[Projection("p", "src", "dst", FromList(pairs), weight=np.array([5.0, 6.0, 7.0]), delay=1.0)],
        probes=[Probe("dst", ["v"])])


def test_numpy_arrays_are_taken_and_dump_as_lists(tmp_path):
    net = numpy_net()
    assert net.validate() == []
    text = spikemem.dumps(net)
    assert "connections:\n    - [0, 1]\n    - [1, 2]\n    - [2, 0]\n  weight: [5.0, 6.0, 7.0]" in text
    back = spikemem.loads(text)
    assert back.projection("p").connector.connections == [[0, 1], [1, 2], [2, 0]]
    assert back.projection("p").weight == [5.0, 6.0, 7.0]
    # the same run from the arrays and from the file
    a = spikemem.compile(net, backend="brian2").run(6.0).state["dst"]["v"]
    b = spikemem.compile(back, backend="brian2").run(6.0).state["dst"]["v"]
    np.testing.assert_array_equal(a, b)
    # the current jump of each target is its own weight (the delivered list, in order)
    jumps = np.diff(b, axis=0).max(axis=0)
    # dst0 gets 7 nA, dst1 5 nA, dst2 6 nA
    assert np.argsort(jumps).tolist() == [1, 2, 0] and np.all(jumps > 0)


def test_poisson_until_the_end_dumps_as_null():
    net = Network(dt=1.0, populations=[Population("noise", 2, Poisson(rate=50.0))])
    text = spikemem.dumps(net)
    assert "duration: null" in text and "1000000000" not in text
    assert spikemem.loads(text).population("noise").model.duration is None


# -- every problem at once -------------------------------------------------------

def test_wrong_python_types_get_the_file_message():
    net = numpy_net()
    net.projections[0].weight = "2 nA"
    with pytest.raises(DescriptionError) as err:
        net.check()
    (problem,) = err.value.problems
    assert problem.startswith("projections[0].weight: ") and "units are fixed" in problem and "nA" in problem
    net.projections[0].weight = np.ones(4)  # three synapses
    problems = net.validate()
    assert problems and any("projections[0].weight" in p and "4" in p and "3" in p for p in problems)


def test_type_and_value_problems_in_one_round(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("schema_version: 1\ndt: 0.1\npopulations:\n"
                    "  - {name: a, size: 2, model: {type: IFCurrExp, tau_m: -3, colour: red}}\n"
                    "  - {name: b, size: 2, model: {type: LIF, beta: 2.0, threshold: high}}\n")
    with pytest.raises(DescriptionError) as err:
        spikemem.load(path)
    assert err.value.source == str(path)
    assert err.value.problems == [  # what could not be read, then the values of what could
        "populations[0].model.colour: unknown field (fields of IFCurrExp: cm, tau_m, tau_refrac, tau_syn_E, "
        "tau_syn_I, v_rest, v_reset, v_thresh, i_offset, v_init, integration)",
        "populations[1].model.threshold: expression 'high' uses unknown param 'high' (declared params: none)",
        "populations[0].model.tau_m: must be > 0, got -3.0",
        "populations[1].model.beta: must be in [0, 1], got 2.0",
    ]


def test_a_file_that_is_not_text_is_named(tmp_path):
    path = tmp_path / "noise.yaml"
    path.write_bytes(bytes(np.random.default_rng(3).integers(128, 256, 64, dtype=np.uint8)))
    with pytest.raises(DescriptionError) as err:
        spikemem.load(path)
    assert str(path) in str(err.value) and "not a text file" in str(err.value)


def test_spinnaker_refuses_every_feature_at_once():
    net = Network(dt=0.1, populations=[
        Population("src", 2, SpikeSource([[1.0], [2.0]])),
        Population("cells", 2, IFCurrExp(**CELL))],
        projections=[Projection("p", "src", "cells", AllToAll(), weight=1.0, delay=1.0,
                                synapse=STDP(timing=SpikePair(traces="nearest")))])
    with pytest.raises(UnsupportedFeatures) as err:
        spikemem.backends.pynn_plan.check(net, "pynn.spinnaker")
    assert [r.node for r in err.value.refused] == ["dt", "populations[1] (cells)",
                                                   "projections[0] (p).synapse.timing"]
    text = str(err.value)
    assert "set dt: 1.0" in text and "integration: fixed_step" in text and "traces: all_to_all" in text


def test_one_to_one_error_paths_still_reach_value_checks():
    net = Network(dt=1.0, populations=[Population("a", 2, IFCurrExp(**CELL)), Population("b", 3, IFCurrExp(**CELL))],
                  projections=[Projection("p", "a", "b", OneToOne(), weight=-1.0, delay=1.0)])
    assert net.validate() == ["projections[0].connector: one_to_one needs equal sizes, got 2 -> 3",
                              "projections[0].weight: must be >= 0 (the receptor gives the sign), got -1.0"]


def test_an_unknown_delay_convention_is_named():
    assert Network(delay_convention="nest").validate() == [
        "delay_convention: must be one of 'pynn', 'spinnaker', got 'nest'"]
