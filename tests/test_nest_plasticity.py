"""STDP on pyNN.nest against Brian2, where the plastic weights decide the spikes.

The equivalence tests (tests/test_equivalence.py) keep their plastic weights too small
to make a target fire. Here the targets fire *because of* the plastic weights, v is
recorded, and the weights compared are the ones NEST itself holds (read back through
PyNN's ``Projection.get``), not the host rule's own copy.
"""
from __future__ import annotations

import numpy as np
import pytest

import spikemem
from spikemem import (STDP, Additive, AllToAll, IFCurrExp, Network, Population, Probe, Projection, SpikePair,
                      SpikeSource)

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
