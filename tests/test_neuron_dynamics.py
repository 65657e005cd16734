"""Neuron dynamics on Brian2 (numpy target) against formulas written out here.

Time convention (brian2_backend docstring): the recorded state at index k is the value
at the END of step k, i.e. at time (k + 1) * dt if step k covers [k dt, (k + 1) dt).
A spike at step s through a delay of d steps reaches the membrane from step s + d on:
its current jump happens at time (s + d) * dt, so a target with enough input fires at
step s + d (PyNN semantics).

Nothing here uses spikemem.ir.dynamics: every expected value is computed from the
PyNN ODEs, from PORTING.md's description of sPyNNaker, or from snnTorch's rule.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest

import spikemem
from spikemem import (LIF, AllToAll, FromList, IFCurrExp, Network, OneToOne, Population, Probe,
                      Projection, SpikeSource)

#: the CA3 model's fast cell (models/ca3_cam_published.yaml)
FAST = dict(cm=0.14, tau_m=0.5, tau_syn_E=0.3, tau_syn_I=0.3, v_rest=-60.0, v_reset=-60.0,
            v_thresh=-57.0, v_init=-60.0, tau_refrac=1.0, i_offset=0.0)


def run(net: Network, duration: float) -> spikemem.Result:
    return spikemem.compile(net, backend="brian2", target="numpy").run(duration)


def one_cell(cell: IFCurrExp, dt: float, inputs: list[tuple[float, float, str]], delay: float,
             duration: float, variables=("spikes", "v", "isyn_exc", "isyn_inh")):
    """One IFCurrExp neuron fed by one SpikeSource neuron per (time ms, weight nA, receptor)."""
    pops = [Population("cell", 1, cell)]
    projs = []
    if inputs:
        pops.append(Population("src", len(inputs), SpikeSource([[t] for t, _, _ in inputs])))
        for receptor in ("excitatory", "inhibitory"):
            ks = [k for k, (_, _, r) in enumerate(inputs) if r == receptor]
            if ks:
                projs.append(Projection(receptor, "src", "cell", FromList([[k, 0] for k in ks]),
                                        weight=[inputs[k][1] for k in ks], delay=delay,
                                        receptor=receptor))
    # these analytic tests count delays as the target's earliest firing step (sPyNNaker's meaning)
    net = Network(dt=dt, delay_convention="spinnaker", populations=pops, projections=projs,
                  probes=[Probe("cell", list(variables))])
    return run(net, duration)


def psp(t, w, cm, tau_m, tau_s):
    """Membrane deviation (mV) of the PyNN IF_curr_exp ODEs for a current jump w (nA) at t = 0:
    cm dv/dt = -cm (v - v_rest) / tau_m + I,  dI/dt = -I / tau_s."""
    t = np.asarray(t, dtype=float)
    if tau_m == tau_s:
        out = w / cm * t * np.exp(-t / tau_m)
    else:
        out = w / cm * tau_m * tau_s / (tau_m - tau_s) * (np.exp(-t / tau_m) - np.exp(-t / tau_s))
    return np.where(t > 0, out, 0.0)


# -- a. exact integration against the analytic solution ------------------------

@pytest.mark.parametrize("receptor, tau_syn_E, tau_syn_I", [
    ("excitatory", 2.5, 4.0), ("inhibitory", 2.5, 4.0), ("excitatory", 10.0, 1.0),  # tau_s = tau_m
])
def test_exact_single_spike_matches_analytic_psp(receptor, tau_syn_E, tau_syn_I):
    dt, w, s_ms, delay = 0.1, 1.5, 2.0, 1.0
    cell = IFCurrExp(cm=0.25, tau_m=10.0, tau_syn_E=tau_syn_E, tau_syn_I=tau_syn_I, v_rest=-65.0,
                     v_reset=-65.0, v_thresh=50.0, v_init=-65.0, tau_refrac=0.0,
                     integration="exact")
    n = 400
    r = one_cell(cell, dt, [(s_ms, w, receptor)], delay, n * dt)
    v = r.state["cell"]["v"][:, 0]
    assert v.shape == (n,)
    s, d = round(s_ms / dt), round(delay / dt)
    k = np.arange(n)
    tt = (k + 1 - (s + d)) * dt  # time since the jump at the end of sample k
    tau_s, sign = (tau_syn_E, 1.0) if receptor == "excitatory" else (tau_syn_I, -1.0)
    expected = sign * psp(tt, w, cell.cm, cell.tau_m, tau_s)
    assert np.all(v[: s + d] == -65.0)  # nothing before the delivery step
    assert abs(v[s + d] + 65.0) > 1e-3  # ... and something from it on
    np.testing.assert_allclose(v + 65.0, expected, rtol=1e-9, atol=1e-12)
    # the synaptic current: w at the jump, then exp decay (right-continuous)
    cur = r.state["cell"]["isyn_exc" if receptor == "excitatory" else "isyn_inh"][:, 0]
    expected_i = np.where(tt >= 0, w * np.exp(-np.maximum(tt, 0) / tau_s), 0.0)
    np.testing.assert_allclose(cur, expected_i, rtol=1e-9, atol=1e-15)
    other = r.state["cell"]["isyn_inh" if receptor == "excitatory" else "isyn_exc"][:, 0]
    assert np.all(other == 0.0)
    assert len(r.spikes["cell"].times) == 0


def test_exact_superposition_of_two_spikes_and_both_receptors():
    dt, delay = 0.1, 0.5
    cell = IFCurrExp(cm=0.5, tau_m=15.0, tau_syn_E=3.0, tau_syn_I=6.0, v_rest=-70.0,
                     v_reset=-70.0, v_thresh=30.0, v_init=-70.0, tau_refrac=0.0)
    inputs = [(1.0, 2.0, "excitatory"), (3.7, 0.75, "excitatory"), (2.2, 1.25, "inhibitory")]
    n = 300
    r = one_cell(cell, dt, inputs, delay, n * dt)
    v = r.state["cell"]["v"][:, 0]
    k = np.arange(n)
    expected = np.zeros(n)
    for t_ms, w, receptor in inputs:
        tt = (k + 1 - round(t_ms / dt) - round(delay / dt)) * dt
        tau_s, sign = (3.0, 1.0) if receptor == "excitatory" else (6.0, -1.0)
        expected += sign * psp(tt, w, cell.cm, cell.tau_m, tau_s)
    np.testing.assert_allclose(v + 70.0, expected, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("integration", ["exact", "fixed_step"])
def test_constant_offset_current(integration):
    dt, i_offset = 0.1, 0.6
    cell = IFCurrExp(cm=0.4, tau_m=8.0, v_rest=-65.0, v_reset=-65.0, v_thresh=0.0, v_init=-65.0,
                     i_offset=i_offset, tau_refrac=0.0, integration=integration)
    n = 500
    r = one_cell(cell, dt, [], 1.0, n * dt, variables=("spikes", "v"))
    v = r.state["cell"]["v"][:, 0]
    t = (np.arange(n) + 1) * dt
    R = cell.tau_m / cell.cm
    np.testing.assert_allclose(v + 65.0, R * i_offset * (1 - np.exp(-t / cell.tau_m)),
                               rtol=1e-9, atol=1e-12)
    assert v[-1] + 65.0 == pytest.approx(R * i_offset, rel=3e-3)  # close to steady state
    assert len(r.spikes["cell"].times) == 0


# -- b. fixed_step integration as PORTING.md item 2 describes sPyNNaker -----------

def test_fixed_step_by_hand():
    dt, s_exc, w_exc, s_inh, w_inh = 1.0, 5, 0.5, 8, 0.8
    i_offset = 0.2
    cell = IFCurrExp(**{**FAST, "i_offset": i_offset, "tau_syn_I": 0.7}, integration="fixed_step")
    n = 16
    r = one_cell(cell, dt, [(s_exc * dt, w_exc, "excitatory"), (s_inh * dt, w_inh, "inhibitory")],
                 1.0, n * dt)
    v_rec = r.state["cell"]["v"][:, 0]
    assert len(r.spikes["cell"].times) == 0

    R = cell.tau_m / cell.cm
    decay_m = math.exp(-dt / cell.tau_m)
    decay = {"E": math.exp(-dt / cell.tau_syn_E), "I": math.exp(-dt / cell.tau_syn_I)}
    # PORTING.md item 2 (dt = 1 ms): a spike adds w * tau_syn * (1 - exp(-dt/tau_syn))
    added = {"E": w_exc * cell.tau_syn_E * (1 - decay["E"]),
             "I": w_inh * cell.tau_syn_I * (1 - decay["I"])}
    assert added["E"] == pytest.approx(0.2893 * w_exc, abs=1e-4)
    v, current = cell.v_init, {"E": 0.0, "I": 0.0}
    v_hand, i_hand = [], {"E": [], "I": []}
    for k in range(n):
        alpha = cell.v_rest + R * (current["E"] - current["I"] + i_offset)  # held over the step
        v = alpha - decay_m * (alpha - v)
        for x in "EI":
            current[x] *= decay[x]  # then the input decays
        # delay 1 step: delivered at the end of the spike's step, seen from the next step on
        if k == s_exc:
            current["E"] += added["E"]
        if k == s_inh:
            current["I"] += added["I"]
        v_hand.append(v)
        for x in "EI":
            i_hand[x].append(current[x])
    np.testing.assert_allclose(v_rec, v_hand, rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.state["cell"]["isyn_exc"][:, 0], i_hand["E"], rtol=0, atol=1e-15)
    np.testing.assert_allclose(r.state["cell"]["isyn_inh"][:, 0], i_hand["I"], rtol=0, atol=1e-15)
    assert v_rec[s_exc + 1] - v_rec[s_exc] > 0.3  # the spikes did act, one step after their step
    assert v_rec[s_inh + 1] - v_rec[s_inh] < -0.3


@pytest.mark.parametrize("integration, mv_per_na", [("exact", 0.534), ("fixed_step", 0.893)])
def test_fast_cell_psp_amplitude(integration, mv_per_na):
    """PORTING.md item 2: the 0.14 nF / 0.5 ms / 0.3 ms cell at 1 ms: exact integration gives
    0.534 mV per nA, sPyNNaker's fixed step 0.893, peaking one step after delivery."""
    dt, w, s = 1.0, 2.0, 3
    r = one_cell(IFCurrExp(**FAST, integration=integration), dt, [(s * dt, w, "excitatory")],
                 1.0, 10 * dt)
    dv = r.state["cell"]["v"][:, 0] - FAST["v_rest"]
    assert dv[s + 1] / w == pytest.approx(mv_per_na, abs=5e-4)
    assert int(np.argmax(dv)) == s + 1
    assert dv[s + 2] < dv[s + 1]
    assert np.all(dv[: s + 1] == 0.0)


def test_fixed_step_spike_scale_at_other_dt():
    """The IR's fixed_step at dt != 1 ms: a spike adds w * tau_syn/dt * (1 - exp(-dt/tau_syn))
    (neurons.py docstring; equal to PORTING.md's formula at dt = 1 ms)."""
    dt, w, s = 0.5, 1.0, 4
    cell = IFCurrExp(**{**FAST, "tau_syn_E": 2.0}, integration="fixed_step")
    r = one_cell(cell, dt, [(s * dt, w, "excitatory")], dt, 10 * dt)
    i_rec = r.state["cell"]["isyn_exc"][:, 0]
    added = w * 2.0 / dt * (1 - math.exp(-dt / 2.0))
    assert i_rec[s - 1] == 0.0
    assert i_rec[s] == pytest.approx(added, rel=1e-12)
    assert i_rec[s + 3] == pytest.approx(added * math.exp(-3 * dt / 2.0), rel=1e-12)
    R = cell.tau_m / cell.cm
    dv = r.state["cell"]["v"][:, 0] - cell.v_rest
    assert dv[s + 1] == pytest.approx(R * added * (1 - math.exp(-dt / cell.tau_m)), rel=1e-12)


# -- c. refractoriness -----------------------------------------------------------

@pytest.mark.parametrize("k", [0, 1, 2, 5])
def test_refractory_skips_exactly_k_updates_strong_drive(k):
    dt, n = 0.1, 40
    cell = IFCurrExp(cm=1.0, tau_m=20.0, v_rest=-65.0, v_reset=-65.0, v_thresh=-50.0, v_init=-65.0,
                     i_offset=200.0, tau_refrac=k * dt)  # crosses threshold in any one update
    r = one_cell(cell, dt, [], 1.0, n * dt, variables=("spikes", "v"))
    steps = sorted(r.spikes["cell"].by_step(dt))
    assert steps == list(range(0, n, k + 1))
    v = r.state["cell"]["v"][:, 0]
    refractory = [t for t in range(n) if t not in steps]
    assert np.all(v[steps] == -65.0)  # recorded after the reset
    assert np.all(v[refractory] == -65.0)  # held at v_reset


@pytest.mark.parametrize("k", [0, 3, 10])
def test_refractory_skips_exactly_k_updates_moderate_drive(k):
    dt = 0.1
    v_rest, v_reset, v_thresh, tau_m, cm, i_offset = -65.0, -65.0, -50.0, 20.0, 1.0, 2.5
    v_inf = v_rest + tau_m / cm * i_offset
    # updates needed from v_reset to reach threshold
    m = next(m for m in range(1, 10_000)
             if v_inf + (v_reset - v_inf) * math.exp(-m * dt / tau_m) >= v_thresh)
    margin = v_inf + (v_reset - v_inf) * math.exp(-(m - 1) * dt / tau_m) - v_thresh
    assert m == 72 and margin < -1e-3  # not a borderline case
    cell = IFCurrExp(cm=cm, tau_m=tau_m, v_rest=v_rest, v_reset=v_reset, v_thresh=v_thresh,
                     v_init=v_reset, i_offset=i_offset, tau_refrac=k * dt)
    n = 420
    r = one_cell(cell, dt, [], 1.0, n * dt, variables=("spikes", "v"))
    steps = sorted(r.spikes["cell"].by_step(dt))
    expected = list(range(m - 1, n, m + k))  # first after m updates, then k skipped + m updates
    assert steps == expected
    v = r.state["cell"]["v"][:, 0]
    first = expected[0]
    assert np.all(v[first: first + k + 1] == v_reset)
    # the first update after the refractory period starts from v_reset
    assert v[first + k + 1] == pytest.approx(v_inf + (v_reset - v_inf) * math.exp(-dt / tau_m),
                                             rel=1e-12)


def test_input_during_refractory_step_is_lost_and_keeps_decaying():
    """PORTING.md item 3: tau_refrac = 1 ms skips one step; input arriving meanwhile decays."""
    dt, t_fire, w = 1.0, 6, 3.0
    cell = IFCurrExp(**FAST, integration="fixed_step")
    # a 20 nA spike makes the cell fire at t_fire; a 3 nA spike reaches it in the refractory step
    r = one_cell(cell, dt, [((t_fire - 1) * dt, 20.0, "excitatory"), (t_fire * dt, w, "excitatory")],
                 1.0, 12 * dt)
    assert sorted(r.spikes["cell"].by_step(dt)) == [t_fire]
    v = r.state["cell"]["v"][:, 0]
    assert v[t_fire] == -60.0 and v[t_fire + 1] == -60.0  # reset, then held
    R = cell.tau_m / cell.cm
    decay_s = math.exp(-dt / cell.tau_syn_E)
    big = 20.0 * cell.tau_syn_E * (1 - decay_s)
    small = w * cell.tau_syn_E * (1 - decay_s)
    current = (big * decay_s + small) * decay_s  # seen at t_fire + 2, after one decay in refractory
    alpha = cell.v_rest + R * current
    assert v[t_fire + 2] == pytest.approx(alpha - math.exp(-dt / cell.tau_m) * (alpha + 60.0),
                                          rel=1e-12)


# -- d. delay conventions --------------------------------------------------------

#: steps from a source spike to the earliest target spike through a delay of d steps:
#: PyNN on NEST and plain Brian2 deliver after d steps, into the next update; sPyNNaker fires at t + d
EXTRA_STEP = {"pynn": 1, "spinnaker": 0}


@pytest.mark.parametrize("convention", ["pynn", "spinnaker"])
@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("integration, dt", [("fixed_step", 1.0), ("exact", 0.1)])
def test_spike_at_t_with_delay_d_fires_target_per_convention(integration, dt, d, convention):
    t_ms = 5.0
    net = Network(dt=dt, delay_convention=convention, populations=[
        Population("src", 1, SpikeSource([[t_ms]])),
        Population("cell", 1, IFCurrExp(**FAST, integration=integration))],
        projections=[Projection("p", "src", "cell", OneToOne(), weight=20.0, delay=float(d))],
        probes=[Probe("cell"), Probe("src")])
    r = run(net, 12.0)
    t = round(t_ms / dt)
    assert r.spikes["src"].by_step(dt) == {t: [0]}
    assert r.spikes["cell"].by_step(dt) == {t + round(d / dt) + EXTRA_STEP[convention]: [0]}
    assert r.spikes["cell"].times[0] == pytest.approx(t_ms + d + EXTRA_STEP[convention] * dt)


# -- e. LIF with snnTorch Leaky semantics ----------------------------------------

def lif_drive(seed=1, n_in=5, n_out=4, n_steps=60):
    rng = np.random.default_rng(seed)
    spikes = rng.random((n_steps - 4, n_in)) < 0.3  # leave the last steps free of input
    times = [[float(t) for t in np.nonzero(spikes[:, i])[0]] for i in range(n_in)]
    w_exc = rng.uniform(0.0, 0.7, (n_in, n_out))
    w_inh = rng.uniform(0.0, 0.4, (n_in, n_out))
    # x[k, j]: summed weight delivered in step k (exc delay 1, inh delay 2)
    x = np.zeros((n_steps, n_out))
    for i in range(n_in):
        for t in np.nonzero(spikes[:, i])[0]:
            x[t + 1] += w_exc[i]
            x[t + 2] -= w_inh[i]
    return times, w_exc, w_inh, x


def lif_reference(x, beta, thr, reset, mem_init):
    mem_prev = np.full(x.shape[1], mem_init, dtype=float)
    mems, spks = [], []
    for xk in x:
        r = (mem_prev > thr).astype(float)
        if reset == "subtract":
            mem = beta * mem_prev + xk - r * thr
        else:
            mem = beta * mem_prev * (1 - r) + xk
        mems.append(mem)
        spks.append(mem > thr)
        mem_prev = mem
    return np.array(mems), np.array(spks)


LIF_CASES = [(0.9, 1.0, "subtract", 0.0), (0.9, 1.0, "zero", 0.0),
             (0.5, 0.6, "subtract", 1.3), (0.5, 0.6, "zero", 1.3), (1.0, 0.8, "subtract", -0.2)]


@functools.lru_cache(maxsize=None)  # shared by the two LIF tests; callers must not modify
def run_lif(beta, thr, reset, mem_init):
    times, w_exc, w_inh, x = lif_drive()
    n_in, n_out = w_exc.shape
    net = Network(dt=1.0, delay_convention="spinnaker", populations=[  # x: delivered in step t + d
        Population("inp", n_in, SpikeSource(times)),
        Population("lif", n_out, LIF(beta=beta, threshold=thr, reset=reset, mem_init=mem_init))],
        projections=[
            Projection("exc", "inp", "lif", AllToAll(), weight=w_exc.ravel().tolist(), delay=1.0),
            Projection("inh", "inp", "lif", AllToAll(), weight=w_inh.ravel().tolist(), delay=2.0,
                       receptor="inhibitory")],
        probes=[Probe("lif", ["spikes", "mem"])])
    r = run(net, float(len(x)))
    spk = np.zeros(x.shape, dtype=bool)
    for step, idx in r.spikes["lif"].by_step(1.0).items():
        spk[step, idx] = True
    return x, r.state["lif"]["mem"], spk


@pytest.mark.parametrize("beta, thr, reset, mem_init", LIF_CASES)
def test_lif_matches_snntorch_rule(beta, thr, reset, mem_init):
    x, mem, spk = run_lif(beta, thr, reset, mem_init)
    ref_mem, ref_spk = lif_reference(x, beta, thr, reset, mem_init)
    assert ref_spk.sum() >= 5  # the drive makes the neurons fire and reset
    np.testing.assert_allclose(mem, ref_mem, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(spk, ref_spk)


@pytest.mark.parametrize("beta, thr, reset, mem_init", LIF_CASES[:4])
def test_lif_matches_snntorch_leaky(beta, thr, reset, mem_init):
    snn = pytest.importorskip("snntorch")
    torch = pytest.importorskip("torch")
    x, mem, spk = run_lif(beta, thr, reset, mem_init)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        leaky = snn.Leaky(beta=beta, threshold=thr, reset_mechanism=reset)
        m = torch.full((x.shape[1],), mem_init, dtype=torch.float64)
        mems, spks = [], []
        with torch.no_grad():
            for xk in x:
                s, m = leaky(torch.tensor(xk, dtype=torch.float64), m)
                mems.append(m.numpy().copy())
                spks.append(s.numpy() > 0)
    finally:
        torch.set_default_dtype(previous)
    assert np.sum(spks) >= 5
    # snnTorch computes reset * threshold in float32 (its spike tensor is float32), so the
    # membranes agree to float32 precision, not to the last bit
    np.testing.assert_allclose(mem, np.array(mems), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(spk, np.array(spks))
