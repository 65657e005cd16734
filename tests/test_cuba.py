"""The CUBA network of Vogels & Abbott (2005), models/cuba.yaml, and a PyNN user's delay.

- per-neuron v_init: one value for every cell makes all 4,000 identical cells cross
  threshold in the same step (the step predicted by the membrane equation); the
  uniform draw spreads the first spikes, and the cells that fire in step 0 are exactly
  those whose drawn v_init is within one step of threshold;
- the draws: reproducible from the seed, in [low, high), one per neuron, and the
  state after the first step is the same on Brian2 and NEST (and the formula's);
- the full-size network, 300 ms: spike-identical on Brian2 (numpy) and pynn.nest,
  v of the 800 inhibitory cells within 1e-9 mV;
- a PyNN user's delay number: one small source-driven network written in plain
  pyNN.nest (delay 0.3 ms at dt 0.1) and as a description with ``delay: 0.3`` fires
  the same spike times on spikemem brian2, spikemem pynn.nest, plain pyNN.nest and
  plain Brian2 (a NeuronGroup and Synapses with ``delay=0.3*ms``).

The plain pyNN.nest program sets ``spike_precision="on_grid"``: PyNN's default
("off_grid") runs NEST's precise-timing model ``iaf_psc_exp_ps``, whose spike times
are not on the step grid, and NEST cannot switch back to grid spiking in the same
process once it has been enabled.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

import spikemem
from spikemem import AllToAll, FromList, IFCurrExp, Network, Population, Probe, Projection, SpikeSource
from spikemem.ir.connectivity import initial_values

ROOT = Path(__file__).resolve().parents[1]
CUBA = ROOT / "models" / "cuba.yaml"
DT, TAU_M, V_REST, V_RESET, V_THRESH = 0.1, 20.0, -49.0, -60.0, -50.0  # the paper's numbers, for the formulas


def cuba(**overrides) -> Network:
    return spikemem.load(CUBA, overrides=overrides)


def with_v_init(net: Network, v_init) -> Network:
    pops = [dataclasses.replace(p, model=dataclasses.replace(p.model, v_init=v_init)) for p in net.populations]
    return dataclasses.replace(net, populations=pops)


def spike_steps(result) -> np.ndarray:
    """The step of every spike of the network (both populations)."""
    return np.concatenate([np.round(s.times / result.dt).astype(int) for s in result.spikes.values()])


# -- the file ------------------------------------------------------------------------------------------------

def test_the_file_holds_the_published_numbers():
    net = cuba()
    assert [(p.name, p.size) for p in net.populations] == [("exc", 3200), ("inh", 800)]
    assert net.dt == DT and net.delay_convention == "pynn"
    cell = net.population("exc").model
    assert cell == net.population("inh").model
    # Brian2's weights are voltage jumps of the current term: R * w with R = tau_m / cm (MOhm x nA = mV)
    r_mohm = cell.tau_m / cell.cm
    assert r_mohm == pytest.approx(100.0)
    w = {p.name: (p.weight, p.receptor, p.connector.p, p.delay) for p in net.projections}
    assert w["e2e"][0] * r_mohm == w["e2i"][0] * r_mohm == pytest.approx(60 * 0.27 / 10)
    assert w["i2e"][0] * r_mohm == w["i2i"][0] * r_mohm == pytest.approx(20 * 4.5 / 10)
    assert {v[1:] for v in w.values()} == {("excitatory", 0.02, 0.1), ("inhibitory", 0.02, 0.1)}
    assert [(p.name, p.size) for p in cuba(n=1000).populations] == [("exc", 800), ("inh", 200)]


# -- (a) one initial value vs a per-neuron draw ----------------------------------------------------------------

def test_one_v_init_for_every_cell_fires_the_whole_network_in_one_step():
    net = with_v_init(cuba(), V_RESET)
    result = spikemem.compile(net, backend="brian2").run(60.0)
    steps = spike_steps(result)
    first = steps.min()
    # v after step s (s + 1 updates from v_init, no input before the first spike):
    # V_REST + (V_RESET - V_REST) * exp(-(s + 1) dt / tau_m) >= V_THRESH
    expected = math.ceil(TAU_M / DT * math.log((V_REST - V_RESET) / (V_REST - V_THRESH))) - 1
    assert first == expected == 479
    assert np.count_nonzero(steps == first) == 4000


def test_uniform_v_init_spreads_the_first_spikes():
    net = cuba()
    result = spikemem.compile(net, backend="brian2").run(60.0)
    steps = spike_steps(result)
    v0 = np.concatenate([initial_values(net, p) for p in net.populations])
    # a cell fires in step 0 exactly when one step of relaxation towards V_REST lifts it to threshold
    fires_at_once = V_REST + (v0 - V_REST) * math.exp(-DT / TAU_M) >= V_THRESH
    assert np.count_nonzero(steps == 0) == np.count_nonzero(fires_at_once) < 10
    per_step = np.bincount(steps)
    assert per_step.max() < 0.01 * 4000  # no volley: at most 1% of the cells in any one step
    assert len(np.unique(steps)) > 300  # ...and spikes in most of the 600 steps


# -- (b) the draws -------------------------------------------------------------------------------------------

def test_v_init_draws_are_reproducible_bounded_and_per_neuron():
    net, again, other_seed = cuba(), cuba(), dataclasses.replace(cuba(), seed=1)
    for pop in net.populations:
        v = initial_values(net, pop)
        assert v.shape == (pop.size,)
        np.testing.assert_array_equal(v, initial_values(again, again.population(pop.name)))
        assert V_RESET <= v.min() and v.max() < V_THRESH
        assert len(np.unique(v)) == pop.size
        assert not np.array_equal(v, initial_values(other_seed, other_seed.population(pop.name)))
        # a fair uniform draw: mean and spread of U(-60, -50) within 4 standard errors
        assert abs(v.mean() + 55.0) < 4 * 10 / math.sqrt(12 * pop.size)
        assert abs(v.std() - 10 / math.sqrt(12)) < 0.1
    exc, inh = (initial_values(net, p) for p in net.populations)
    assert not np.array_equal(exc[:800], inh)  # one generator per population


def test_v_init_draws_are_the_same_on_brian2_and_nest():
    net = cuba(n=400)
    net.probes = [Probe("exc", ["spikes", "v"]), Probe("inh", ["spikes", "v"])]
    on_brian2 = spikemem.compile(net, backend="brian2").run(0.2)
    sim = spikemem.compile(net, backend="pynn.nest")
    on_nest = sim.run(0.2)
    sim.close()
    for pop in net.populations:
        v0 = initial_values(net, pop)
        first_row = on_brian2.state[pop.name]["v"][0]
        np.testing.assert_allclose(on_nest.state[pop.name]["v"][0], first_row, atol=1e-9, rtol=0)
        # the state after one input-free step: the draw relaxed towards V_REST (or reset, if it fired)
        relaxed = V_REST + (v0 - V_REST) * math.exp(-DT / TAU_M)
        expected = np.where(relaxed >= V_THRESH, V_RESET, relaxed)
        np.testing.assert_allclose(first_row, expected, atol=1e-12, rtol=0)


# -- (c) the whole network on Brian2 and NEST ----------------------------------------------------------------

def test_cuba_full_size_is_spike_identical_on_brian2_and_nest():
    net = cuba()
    net.probes.append(Probe("inh", ["v"]))
    on_brian2 = spikemem.compile(net, backend="brian2", target="numpy").run(300.0)
    sim = spikemem.compile(net, backend="pynn.nest")
    on_nest = sim.run(300.0)
    sim.close()
    for name in ("exc", "inh"):
        ref, got = on_brian2.spikes[name].events(DT), on_nest.spikes[name].events(DT)
        assert ref == got, f"{name}: {len(ref ^ got)} differing events, first {min(ref ^ got)}"
        rate_hz = len(ref) / net.population(name).size / 0.3
        assert 1.0 < rate_hz < 50.0  # the self-sustained asynchronous state, not silence or a volley
    v_ref, v_got = on_brian2.state["inh"]["v"], on_nest.state["inh"]["v"]
    assert v_ref.shape == v_got.shape == (3000, 800)
    np.testing.assert_allclose(v_got, v_ref, atol=1e-9, rtol=0)


# -- (d) a PyNN user's delay -----------------------------------------------------------------------------------

SOURCE_TIMES = [[1.0, 12.0, 30.0], [5.0, 20.0, 33.3]]
CELL = dict(cm=0.25, tau_m=10.0, tau_syn_E=1.0, tau_syn_I=2.0, v_rest=-65.0, v_reset=-65.0, v_thresh=-55.0,
            tau_refrac=5.0, i_offset=0.0)
KICK_NA, DRIVE_NA, RELAY_NA, INH_NA, DELAY_MS, DURATION = 40.0, 5.0, 4.0, 1.5, 0.3, 45.0
RELAY = [[0, 0], [1, 0], [2, 1]]


def delay_description() -> Network:
    """src -> kick (one-step firing), src -> a (all to all) -> b (from a list), src -| b; every delay 0.3 ms."""
    cells = {name: Population(name, size, IFCurrExp(**CELL, v_init=-65.0)) for name, size in
             (("kick", 2), ("a", 3), ("b", 2))}
    return Network(dt=DT, populations=[Population("src", 2, SpikeSource(SOURCE_TIMES)), *cells.values()],
                   projections=[
                       Projection("kick", "src", "kick", FromList([[0, 0], [1, 1]]), weight=KICK_NA, delay=DELAY_MS),
                       Projection("sa", "src", "a", AllToAll(), weight=DRIVE_NA, delay=DELAY_MS),
                       Projection("ab", "a", "b", FromList(RELAY), weight=RELAY_NA, delay=DELAY_MS),
                       Projection("sb", "src", "b", AllToAll(), weight=INH_NA, delay=DELAY_MS,
                                  receptor="inhibitory")],
                   probes=[Probe(name) for name in cells])


def plain_pynn_nest() -> dict[str, set[tuple[int, int]]]:
    """The same network as a PyNN user writes it for NEST: {population: {(step, neuron)}}."""
    import pyNN.nest as sim

    sim.setup(timestep=DT, min_delay=DT, spike_precision="on_grid")
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[sim.Sequence(t) for t in SOURCE_TIMES]))
    pops = {name: sim.Population(size, sim.IF_curr_exp(**CELL), initial_values={"v": -65.0})
            for name, size in (("kick", 2), ("a", 3), ("b", 2))}

    def connect(pre, post, connector, weight, receptor="excitatory"):
        sim.Projection(pre, post, connector, sim.StaticSynapse(weight=weight, delay=DELAY_MS), receptor_type=receptor)
    connect(src, pops["kick"], sim.OneToOneConnector(), KICK_NA)
    connect(src, pops["a"], sim.AllToAllConnector(), DRIVE_NA)
    connect(pops["a"], pops["b"], sim.FromListConnector([tuple(c) for c in RELAY]), RELAY_NA)
    connect(src, pops["b"], sim.AllToAllConnector(), -INH_NA, "inhibitory")
    for pop in pops.values():
        pop.record("spikes")
    sim.run(DURATION)
    out = {name: {(int(round(float(t) / DT)), k) for k, train in enumerate(pop.get_data().segments[0].spiketrains)
                  for t in train.magnitude} for name, pop in pops.items()}
    sim.end()
    return out


def plain_brian2() -> dict[str, set[tuple[int, int]]]:
    """The same network as a Brian2 user writes it: ODEs solved by Brian2, Synapses with delay=0.3*ms."""
    import brian2 as b2

    eqs = """dv/dt = (v_rest - v) / tau_m + (I_E + I_I) / C_m : volt (unless refractory)
             dI_E/dt = -I_E / tau_syn_E : amp
             dI_I/dt = -I_I / tau_syn_I : amp"""
    ns = dict(v_rest=CELL["v_rest"] * b2.mV, tau_m=CELL["tau_m"] * b2.ms, C_m=CELL["cm"] * b2.nF,
              tau_syn_E=CELL["tau_syn_E"] * b2.ms, tau_syn_I=CELL["tau_syn_I"] * b2.ms,
              v_thresh=CELL["v_thresh"] * b2.mV, v_reset=CELL["v_reset"] * b2.mV)
    with_dt, with_target = b2.defaultclock.dt, b2.prefs.codegen.target
    b2.defaultclock.dt, b2.prefs.codegen.target = DT * b2.ms, "numpy"  # no compiler run for a 45 ms test
    try:
        idx = [k for k, ts in enumerate(SOURCE_TIMES) for _ in ts]
        src = b2.SpikeGeneratorGroup(2, idx, [t for ts in SOURCE_TIMES for t in ts] * b2.ms)
        groups = {name: b2.NeuronGroup(size, eqs, threshold="v > v_thresh", reset="v = v_reset",
                                       refractory=CELL["tau_refrac"] * b2.ms, method="exact", namespace=ns)
                  for name, size in (("kick", 2), ("a", 3), ("b", 2))}
        for g in groups.values():
            g.v = CELL["v_rest"] * b2.mV
        synapses = []

        def connect(pre, post, weight, on_pre="I_E += w", **where):
            s = b2.Synapses(pre, post, "w : amp", on_pre=on_pre, delay=DELAY_MS * b2.ms)
            s.connect(**where)
            s.w = weight * b2.nA
            synapses.append(s)
        connect(src, groups["kick"], KICK_NA, j="i")
        connect(src, groups["a"], DRIVE_NA)
        connect(groups["a"], groups["b"], RELAY_NA, i=[c[0] for c in RELAY], j=[c[1] for c in RELAY])
        connect(src, groups["b"], INH_NA, on_pre="I_I -= w")
        monitors = {name: b2.SpikeMonitor(g) for name, g in groups.items()}
        b2.Network(src, *groups.values(), *synapses, *monitors.values()).run(DURATION * b2.ms)
    finally:
        b2.defaultclock.dt, b2.prefs.codegen.target = with_dt, with_target
    return {name: {(int(round(float(t) / DT)), int(i)) for i, t in zip(m.i[:], m.t / b2.ms)}
            for name, m in monitors.items()}


def test_a_pynn_users_delay_means_the_same_everywhere():
    net = delay_description()
    assert net.delay_convention == "pynn"  # the default: the user's number as it is
    spikemem_b2 = spikemem.compile(net, backend="brian2").run(DURATION)
    sim = spikemem.compile(net, backend="pynn.nest")
    spikemem_nest = sim.run(DURATION)
    sim.close()
    runs = {"spikemem brian2": {k: s.events(DT) for k, s in spikemem_b2.spikes.items()},
            "spikemem pynn.nest": {k: s.events(DT) for k, s in spikemem_nest.spikes.items()},
            "plain pyNN.nest": plain_pynn_nest(),
            "plain Brian2": plain_brian2()}
    # independent of every engine: a kick lands delay + one step after its source spike
    source_steps = [[round(t / DT) for t in ts] for ts in SOURCE_TIMES]
    kicked = {(s + round(DELAY_MS / DT) + 1, k) for k, steps in enumerate(source_steps) for s in steps}
    assert runs["spikemem brian2"]["kick"] == kicked
    reference = runs["spikemem brian2"]
    assert len(reference["a"]) >= 12 and len(reference["b"]) >= 4  # the relay and the inhibition act
    for who, got in runs.items():
        for name in ("kick", "a", "b"):
            assert got[name] == reference[name], f"{who}, {name}: {sorted(got[name] ^ reference[name])[:6]}"
    # the delay number matters: 0.2 ms moves every kick one step earlier
    shorter = dataclasses.replace(net, projections=[dataclasses.replace(p, delay=0.2) for p in net.projections])
    assert spikemem.compile(shorter, backend="brian2").run(DURATION).spikes["kick"].events(DT) == \
        {(s - 1, k) for s, k in kicked}
