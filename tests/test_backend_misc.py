"""Brian2 backend (numpy target): isolation, segmented runs, random draws, and argument errors."""
from __future__ import annotations

import numpy as np
import pytest

import spikemem
from spikemem.ir.connectivity import connect
from spikemem import (LIF, STDP, Additive, AllToAll, FixedProbability, IFCurrExp, Network, Normal, OneToOne,
                      Poisson, Population, Probe, Projection, SpikePair, SpikeSource, Uniform)

FAST = dict(cm=0.14, tau_m=0.5, tau_syn_E=0.3, tau_syn_I=0.3, v_rest=-60.0, v_reset=-60.0,
            v_thresh=-57.0, v_init=-60.0, tau_refrac=1.0, integration="fixed_step")


def compile_(net):
    return spikemem.compile(net, backend="brian2", target="numpy")


def poisson_net(rate=100.0, seed=1, weight=2.0, p=0.3, dt=1.0) -> Network:
    """Poisson source -> IFCurrExp (plastic, random connectivity) -> LIF, all probed."""
    return Network(dt=dt, seed=seed, populations=[
        Population("src", 20, Poisson(rate=rate)),
        Population("n", 6, IFCurrExp(**FAST)),
        Population("out", 6, LIF(beta=0.8, threshold=0.5))],
        projections=[
            Projection("p", "src", "n", FixedProbability(p), weight=weight, delay=2.0,
                       synapse=STDP(SpikePair(tau_plus=3.0, tau_minus=3.0, A_plus=0.05, A_minus=0.06),
                                    Additive(0.0, 5.0))),
            Projection("q", "n", "out", OneToOne(), weight=0.3, delay=1.0)],
        probes=[Probe("src"), Probe("n", ["spikes", "v", "isyn_exc"]), Probe("out", ["spikes", "mem"])])


def assert_same(a: spikemem.Result, b: spikemem.Result):
    assert a.t_stop == b.t_stop and a.dt == b.dt
    assert a.spikes.keys() == b.spikes.keys()
    for name in a.spikes:
        assert a.spikes[name].events(a.dt) == b.spikes[name].events(b.dt), name
    assert a.state.keys() == b.state.keys()
    for name in a.state:
        for var in a.state[name]:
            np.testing.assert_array_equal(a.state[name][var], b.state[name][var], err_msg=f"{name}.{var}")
    assert a.weights.keys() == b.weights.keys()
    for name in a.weights:
        np.testing.assert_array_equal(a.weights[name], b.weights[name], err_msg=name)


def test_two_simulations_do_not_interfere():
    net_a = poisson_net(rate=100.0, seed=1, weight=2.0)
    net_b = poisson_net(rate=60.0, seed=2, weight=3.0, p=0.5)
    solo_a = compile_(net_a).run(120.0)
    solo_b = compile_(net_b).run(120.0)
    # the runs are active enough to show a difference, and the two networks differ
    assert len(solo_a.spikes["n"].times) > 20 and len(solo_b.spikes["n"].times) > 20
    assert solo_a.spikes["n"].events(1.0) != solo_b.spikes["n"].events(1.0)
    assert not np.allclose(solo_a.weights["p"], 2.0, equal_nan=True)  # STDP did act

    sim_a, sim_b = compile_(net_a), compile_(net_b)  # both built before either runs
    for _ in range(4):
        res_a = sim_a.run(30.0)
        res_b = sim_b.run(30.0)
    assert_same(res_a, solo_a)
    assert_same(res_b, solo_b)


def test_segmented_run_equals_one_run():
    net = poisson_net(rate=120.0, seed=5)
    whole = compile_(net).run(100.0)
    sim = compile_(net)
    part = sim.run(37.0)
    assert part.t_stop == 37.0 and part.state["n"]["v"].shape == (37, 6)
    rest = sim.run(63.0)
    assert rest.t_stop == 100.0 and rest.state["n"]["v"].shape == (100, 6)
    assert len(whole.spikes["src"].times) > 100  # the Poisson source is part of the comparison
    assert_same(rest, whole)
    # the first segment is the start of the whole run
    assert part.spikes["src"].events(1.0) == {e for e in whole.spikes["src"].events(1.0) if e[0] < 37}
    np.testing.assert_array_equal(part.state["n"]["v"], whole.state["n"]["v"][:37])


def test_segmented_run_rejects_partial_steps():
    sim = compile_(poisson_net(dt=0.5))
    with pytest.raises(ValueError, match="whole number of steps"):
        sim.run(1.25)


def test_same_seed_same_run_other_seed_other_run():
    a = compile_(poisson_net(seed=3)).run(50.0)
    b = compile_(poisson_net(seed=3)).run(50.0)
    c = compile_(poisson_net(seed=4)).run(50.0)
    assert_same(a, b)
    assert a.spikes["src"].events(1.0) != c.spikes["src"].events(1.0)


def test_poisson_rate_and_window():
    dt, n, rate = 1.0, 1000, 20.0
    net = Network(dt=dt, seed=11, populations=[
        Population("always", n, Poisson(rate=rate)),
        Population("window", n, Poisson(rate=50.0, start=200.0, duration=500.0)),
        Population("silent", n, Poisson(rate=0.0))],
        probes=[Probe("always"), Probe("window"), Probe("silent")])
    r = compile_(net).run(1000.0)
    always = r.spikes["always"]
    mean_rate = len(always.times) / n / 1.0  # Hz over 1 s
    assert mean_rate == pytest.approx(rate, rel=0.05)
    # spread over neurons and time, on the dt grid, at most one spike per step and neuron
    counts = np.bincount(always.indices, minlength=n)
    assert counts.var() / counts.mean() == pytest.approx(1 - rate * dt / 1000, abs=0.15)
    np.testing.assert_allclose(always.times, np.round(always.times / dt) * dt)
    assert len(always.events(dt)) == len(always.times)
    first, second = np.sum(always.times < 500), np.sum(always.times >= 500)
    assert first == pytest.approx(second, rel=0.1)
    win = r.spikes["window"]
    assert win.times.min() >= 200.0 and win.times.max() < 700.0
    assert len(win.times) / n / 0.5 == pytest.approx(50.0, rel=0.05)
    assert len(r.spikes["silent"].times) == 0


def test_fixed_probability_fraction():
    n, p = 300, 0.1

    def net(allow_self=True, name="fp", seed=0):
        return Network(dt=1.0, seed=seed, populations=[
            Population("a", n, LIF()), Population("b", n, LIF())],
            projections=[Projection(name, "a", "b", FixedProbability(p, allow_self_connections=allow_self),
                                    weight=0.1)])

    def drawn(network):
        syn = connect(network, network.projections[0])
        mask = np.zeros((n, n), dtype=bool)
        mask[syn.i, syn.j] = True
        assert mask.sum() == len(syn.i)  # no pair twice
        return mask

    connected = drawn(net())
    assert connected.mean() == pytest.approx(p, rel=0.05)
    assert connected.sum(axis=1).mean() == pytest.approx(n * p, rel=0.05)
    assert connected.sum(axis=1).max() < 3 * n * p and connected.sum(axis=0).max() < 3 * n * p
    assert np.diag(connected).any()  # self pairs (i -> i) allowed ...
    no_self = drawn(net(allow_self=False))
    assert not np.diag(no_self).any()  # ... or not
    assert no_self.mean() == pytest.approx(p, rel=0.05)
    # the draw is fixed by the seed and the projection's name
    assert np.array_equal(drawn(net()), connected)
    assert not np.array_equal(drawn(net(seed=1)), connected)
    assert not np.array_equal(drawn(net(name="other")), connected)
    # the backend builds exactly the drawn synapses
    sim = compile_(net())
    sim.run(1.0)
    w = sim.weights("fp")
    assert w.shape == (n, n)
    np.testing.assert_array_equal(~np.isnan(w), connected)
    assert np.all(w[connected] == 0.1)


def test_random_draws_are_keyed_by_node_name():
    """Every draw comes from the seed and the node's name: adding other nodes (even before
    them in the lists) changes neither the synapses and weights of a projection nor the
    spikes of a Poisson source."""
    def net(extra: bool) -> Network:
        pops = [Population("src", 50, Poisson(rate=80.0)), Population("dst", 40, LIF())]
        projs = [Projection("p", "src", "dst", FixedProbability(0.2), weight=Normal(0.5, 0.2))]
        if extra:
            pops.insert(0, Population("noise", 30, Poisson(rate=50.0)))
            projs.insert(0, Projection("extra", "noise", "dst", FixedProbability(0.3),
                                       weight=Uniform(0.0, 1.0)))
        return Network(dt=1.0, seed=9, populations=pops, projections=projs, probes=[Probe("src")])

    sims = [compile_(net(False)), compile_(net(True))]
    results = [sim.run(50.0) for sim in sims]
    w_plain, w_extra = (sim.weights("p") for sim in sims)
    np.testing.assert_array_equal(w_plain, w_extra)
    assert results[0].spikes["src"].events(1.0) == results[1].spikes["src"].events(1.0)
    assert len(results[0].spikes["src"].times) > 100
    # the Normal weights are |N(0.5, 0.2)| draws
    w = w_plain[~np.isnan(w_plain)]
    assert len(w) > 300 and np.all(w >= 0)
    assert w.mean() == pytest.approx(0.5, abs=0.03) and w.std() == pytest.approx(0.2, abs=0.03)
    # two projections alike but for their names draw different weights
    twin = Network(dt=1.0, seed=9, populations=[Population("a", 5, LIF()), Population("b", 5, LIF())],
                   projections=[Projection(name, "a", "b", AllToAll(), weight=Normal(0.5, 0.2))
                                for name in ("p1", "p2")])
    sim = compile_(twin)
    sim.run(1.0)  # (Brian2 warns about objects built but never run)
    assert not np.any(sim.weights("p1") == sim.weights("p2"))


# -- valid descriptions the backend must run (or refuse with a spikemem error) -----------

def test_two_probes_on_one_population_record_everything():
    """Two probes of one population (valid: validate() accepts it) must both be recorded;
    the second must not silently replace the first."""
    net = Network(dt=0.1, populations=[Population("n", 2, IFCurrExp(i_offset=1.0, tau_refrac=0.1))],
                  probes=[Probe("n", ["spikes", "v"]), Probe("n", ["isyn_exc"])])
    assert net.validate() == []
    r = compile_(net).run(5.0)
    assert set(r.state["n"]) == {"v", "isyn_exc"}
    assert r.state["n"]["v"].shape == (50, 2)
    assert r.state["n"]["v"][-1, 0] > -65.0  # the offset current charged the membrane


@pytest.mark.parametrize("name", ["CA3-cue", "cue cells"])
def test_population_name_that_is_not_an_identifier(name):
    """Names become engine identifiers: the IR refuses other names with the field path,
    before any engine sees them."""
    net = Network(dt=0.1, populations=[Population(name, 1, IFCurrExp(i_offset=1.0, tau_refrac=0.1))],
                  probes=[Probe(name, ["spikes", "v"])])
    assert [p for p in net.validate() if p.startswith("populations[0].name")] == \
        [f"populations[0].name: '{name}' must be an identifier (letters, digits and _, not starting with a digit)"]
    with pytest.raises(spikemem.DescriptionError, match=r"populations\[0\]\.name"):
        compile_(net)


def test_two_spike_times_in_one_step():
    """A neuron spikes at most once per step: two times in one step are refused by name."""
    net = Network(dt=0.1, populations=[Population("s", 1, SpikeSource([[1.0, 1.04]]))],
                  probes=[Probe("s")])
    assert net.validate() == ["populations[0].model.spike_times[0]: two spikes fall in one step of 0.1 ms; "
                              "a neuron spikes at most once per step"]
    with pytest.raises(spikemem.DescriptionError, match=r"spike_times\[0\]"):
        compile_(net)
    ok = Network(dt=0.1, populations=[Population("s", 1, SpikeSource([[1.0, 1.1]]))], probes=[Probe("s")])
    assert compile_(ok).run(2.0).spikes["s"].by_step(0.1) == {10: [0], 11: [0]}


def test_unknown_backend():
    with pytest.raises(ValueError, match="unknown backend 'nest2'"):
        spikemem.compile(poisson_net(), backend="nest2")


def test_unknown_target():
    with pytest.raises(ValueError, match="nope"):
        spikemem.compile(poisson_net(), backend="brian2", target="nope")


def test_invalid_network_is_refused_at_compile():
    net = poisson_net()
    net.projections[0].delay = 0.0
    with pytest.raises(spikemem.DescriptionError, match=r"projections\[0\].delay"):
        spikemem.compile(net, backend="brian2", target="numpy")
