"""The torch backend: its steps against independent references, its runs against Brian2.

- ``spikemem.torchsim`` steps: closed-form membrane solutions, snnTorch's own ``Leaky``,
  the host pair rule of the PyNN backend (``spikemem.ir.plasticity``, bit for bit), numpy
  products;
- whole networks on ``backend="torch"`` (CPU, float64) against Brian2: identical spikes, v
  within 1e-9 mV, weights within 1e-12 nA (``tests/test_equivalence.py`` runs the shared
  behaviours; here what only torch adds: LIF, the fixed step, one-step delays, sparse
  matrices, random plastic networks, batches);
- the CA3 memory: the published variant against the SpiNNaker recordings, the default
  variant against Brian2, batched sequences against single runs.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

import spikemem  # noqa: E402
from spikemem import (LIF, STDP, Additive, AllToAll, DescriptionError, FixedProbability, FromList,  # noqa: E402
                      IFCurrExp, LearningGate, Multiplicative, Network, OneToOne, Poisson, Population, Probe,
                      Projection, SpikememError, SpikePair, SpikeSource, UnsupportedFeature)
from spikemem.backends.result import BatchResult  # noqa: E402
from spikemem.ir.plasticity import GatedPairRule  # noqa: E402
from spikemem.tasks import cam  # noqa: E402
from spikemem.torchsim import neurons as tn  # noqa: E402
from spikemem.torchsim import stdp as ts  # noqa: E402
from spikemem.torchsim import synapses as tsyn  # noqa: E402

from test_ca3_published import EXPERIMENTS, recorded_events  # noqa: E402
from test_equivalence import EXACT, assert_same, run_both, source  # noqa: E402

F64 = torch.float64


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """These networks are small: torch's intra-op threads only add barriers (and stall on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# -- neuron steps against closed forms -------------------------------------------------------------------

def _run_ifc(model: IFCurrExp, dt: float, v0: list[float], steps: int, kick: float = 0.0):
    """Step a pool of len(v0) trials of one neuron; ``kick`` nA of excitatory input arrives at step 0."""
    p = tn.ifcurrexp_params(model, dt)
    state = tn.ifcurrexp_init(torch.tensor(v0, dtype=F64)[:, None])
    vs, ies, spikes = [], [], []
    for k in range(steps):
        kick_now = torch.full_like(state.v, kick * float(p.spike_scale_e[0])) if k == 0 else None
        z, state = tn.ifcurrexp_step(None if kick_now is None else (kick_now, torch.zeros_like(state.v)), state, p)
        vs.append(state.v[:, 0].clone())
        ies.append(state.i_e[:, 0].clone())
        spikes.append(z[:, 0].clone())
    return torch.stack(vs).numpy(), torch.stack(ies).numpy(), torch.stack(spikes).numpy()


@pytest.mark.parametrize("scheme", ["exact", "fixed_step"])
def test_ifcurrexp_relaxes_as_the_closed_form(scheme):
    m = IFCurrExp(cm=0.25, tau_m=8.0, v_rest=-65.0, v_thresh=0.0, v_reset=-70.0, i_offset=0.5, integration=scheme)
    dt, v0 = 0.1, [-80.0, -65.0, -50.0]  # three trials
    v, _, _ = _run_ifc(m, dt, v0, 50)
    v_inf = m.v_rest + m.tau_m / m.cm * m.i_offset
    t = dt * np.arange(1, 51)[:, None]
    np.testing.assert_allclose(v, v_inf + (np.asarray(v0) - v_inf) * np.exp(-t / m.tau_m), atol=1e-12, rtol=0)


def test_exact_scheme_answers_a_current_jump_as_the_ode_solution():
    m = IFCurrExp(cm=0.27, tau_m=3.0, tau_syn_E=0.3, v_rest=-60.0, v_thresh=0.0, integration="exact", v_init=-60.0)
    dt, w = 0.1, 2.0
    v, i_e, _ = _run_ifc(m, dt, [-60.0], 40, kick=w)
    # the kick enters after step 0's update: the ODE runs from t = 0 at the end of step 0
    t = dt * np.arange(0, 40)
    ref = m.v_rest + w * m.tau_m * m.tau_syn_E / (m.cm * (m.tau_m - m.tau_syn_E)) * (
        np.exp(-t / m.tau_m) - np.exp(-t / m.tau_syn_E))
    np.testing.assert_allclose(v[:, 0], ref, atol=1e-12, rtol=0)
    np.testing.assert_allclose(i_e[:, 0], w * np.exp(-t / m.tau_syn_E), atol=1e-12, rtol=0)


def test_fixed_step_holds_the_current_over_each_step():
    """sPyNNaker's scheme, written out from the IR docstring: the spike adds its mean over one step."""
    m = IFCurrExp(cm=0.27, tau_m=3.0, tau_syn_E=0.3, v_rest=-60.0, v_thresh=0.0, integration="fixed_step")
    dt, w = 1.0, 6.0
    v, _, _ = _run_ifc(m, dt, [-60.0], 12, kick=w)
    r, p22, p11 = m.tau_m / m.cm, math.exp(-dt / m.tau_m), math.exp(-dt / m.tau_syn_E)
    ref, vv, i = [], -60.0, 0.0
    for k in range(12):
        vv = m.v_rest + (vv - m.v_rest) * p22 + r * (1 - p22) * i
        i = i * p11 + (w * m.tau_syn_E / dt * (1 - p11) if k == 0 else 0.0)
        ref.append(vv)
    np.testing.assert_allclose(v[:, 0], ref, atol=1e-12, rtol=0)


def test_refractory_neuron_holds_v_reset_for_tau_refrac_steps():
    m = IFCurrExp(cm=0.25, tau_m=10.0, v_rest=-65.0, v_thresh=-50.0, v_reset=-70.0, i_offset=2.0,
                  tau_refrac=0.4, integration="exact")
    v, _, z = _run_ifc(m, 0.1, [-65.0], 200)
    fired = np.nonzero(z[:, 0])[0]
    assert len(fired) >= 3
    for k in fired[:-1]:
        np.testing.assert_array_equal(v[k:k + 5, 0], [-70.0] * 5)  # the spike step and 4 held steps
        assert v[k + 5, 0] > -70.0
    assert len(set(np.diff(fired))) == 1  # the same interval every time


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_lif_is_snntorch_leaky(reset):
    snn = pytest.importorskip("snntorch")
    beta, threshold = 0.85, 1.0
    leaky = snn.Leaky(beta=torch.tensor(beta, dtype=F64), threshold=torch.tensor(threshold, dtype=F64),
                      reset_mechanism=reset)
    x = torch.rand((60, 4, 7), generator=torch.Generator().manual_seed(3), dtype=F64) * 0.6
    mem_ref, spk_ref, mem = [], [], torch.zeros((4, 7), dtype=F64)
    for k in range(60):
        spk, mem = leaky(x[k], mem)
        mem_ref.append(mem)
        spk_ref.append(spk.bool())
    # torchsim's input enters the next update, as a spike's arrival does: feed x[k] one step earlier
    p = tn.lif_params(LIF(beta=beta, threshold=threshold, reset=reset))
    state, mem_got, spk_got = tn.lif_init(torch.zeros((4, 7), dtype=F64)), [], []
    state = tn.lif_receive(state, x[0])
    for k in range(60):
        z, state = tn.lif_step(x[k + 1] if k + 1 < 60 else None, state, p)
        mem_got.append(state.mem)
        spk_got.append(z)
    assert torch.stack(spk_ref).sum() > 20
    torch.testing.assert_close(torch.stack(mem_got), torch.stack(mem_ref), atol=1e-12, rtol=0)
    assert torch.equal(torch.stack(spk_got), torch.stack(spk_ref))


# -- pair rule against the host rule, bit for bit -----------------------------------------------------------

RULES = {
    "additive": STDP(timing=SpikePair(tau_plus=4.0, tau_minus=5.0, A_plus=0.08, A_minus=0.1),
                     weights=Additive(w_min=0.0, w_max=1.0)),
    "multiplicative_nearest_post_first": STDP(
        timing=SpikePair(tau_plus=3.0, tau_minus=7.0, A_plus=0.3, A_minus=0.2, traces="nearest",
                         same_step="post_first"), weights=Multiplicative(w_min=0.1, w_max=0.9)),
    "gate_forget_pre": STDP(timing=SpikePair(tau_plus=3.0, tau_minus=3.0, A_plus=1.0, A_minus=1.0,
                                             same_step="post_first"),
                            weights=Additive(w_min=0.0, w_max=6.0),
                            gate=LearningGate(population="g", window=7.0, forget="pre")),
    "gate_forget_post_keep_traces": STDP(timing=SpikePair(tau_plus=2.0, tau_minus=6.0, A_plus=0.5, A_minus=0.4),
                                         weights=Multiplicative(w_min=0.0, w_max=2.0),
                                         gate=LearningGate(population="g", window=4.0, forget="post",
                                                           reset_traces=False)),
}


@pytest.mark.parametrize("relayout", [False, True])
@pytest.mark.parametrize("name", sorted(RULES))
def test_pair_rule_is_the_host_rule_bit_for_bit(name, relayout):
    rule, n_pre, n_post, steps, batch = RULES[name], 4, 3, 80, 2
    rng = np.random.default_rng(7)
    pre = rng.random((steps, batch, n_pre)) < 0.15
    post = rng.random((steps, batch, n_post)) < 0.15
    gate = rng.random((steps, batch, 1)) < 0.08
    w0 = rng.uniform(rule.weights.w_min, rule.weights.w_max, (n_pre, n_post))
    i, j = (a.ravel() for a in np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij"))
    hosts = [GatedPairRule(rule, i, j, w0[i, j], dt=1.0) for _ in range(batch)]
    p = ts.pair_rule_params(rule, 1.0)
    state = ts.pair_rule_init(torch.tensor(w0), batch, rule.gate is not None)
    if relayout:
        state = ts.relayout(state)  # the post-major layout: the other gather path
    for k in range(steps):
        for b, host in enumerate(hosts):
            host.step(k, np.nonzero(pre[k, b])[0], np.nonzero(post[k, b])[0], bool(gate[k, b, 0]))
        w, state = ts.stdp_step((torch.tensor(pre[k]), torch.tensor(post[k]),
                                 torch.tensor(gate[k]) if rule.gate else None), state, p, k)
        for b, host in enumerate(hosts):
            np.testing.assert_array_equal(w[b].numpy()[i, j], host.state.w, err_msg=f"step {k}, trial {b}")
    assert not np.allclose(hosts[0].state.w, w0[i, j])  # the rule changed the weights


# -- products and delays ------------------------------------------------------------------------------------

@pytest.mark.parametrize("density, kind", [(1.0, "dense"), (0.05, "sparse")])
def test_products_equal_numpy(density, kind):
    rng = np.random.default_rng(2)
    keep = rng.random((30, 20)) < density
    i, j = np.nonzero(keep)
    w = rng.uniform(0.1, 2.0, len(i))
    m = tsyn.synaptic_matrix(i, j, w, 30, 20)
    assert m.kind == kind
    dense = np.zeros((30, 20))
    dense[i, j] = w
    for p_spike in (0.05, 0.6):  # the row gathers and the matrix product
        z = rng.random((5, 30)) < p_spike
        np.testing.assert_allclose(tsyn.product(torch.tensor(z), m).numpy(), z @ dense, atol=1e-12, rtol=0)
    diag = tsyn.synaptic_matrix(np.arange(4), np.arange(4), np.array([1.0, 2.0, 3.0, 4.0]), 4, 4, one_to_one=True)
    z = torch.tensor([[True, False, True, False]])
    np.testing.assert_array_equal(tsyn.product(z, diag).numpy(), [[1.0, 0.0, 3.0, 0.0]])


def test_delay_ring_delivers_after_the_delay():
    ring = tsyn.delay_ring(3, batch=2, size=4)
    got = {}
    for t in range(8):
        if t in (1, 2):
            tsyn.ring_send(ring, t, 3 if t == 1 else 0, 0, slice(1, 3), torch.full((2, 2), float(t + 1), dtype=F64))
        got[t] = tsyn.ring_deliver(ring, t, 0, torch.zeros((2, 4), dtype=F64))
    assert {t for t, x in got.items() if x.any()} == {2, 4}
    np.testing.assert_array_equal(got[4].numpy(), [[0, 2, 2, 0]] * 2)
    np.testing.assert_array_equal(got[2].numpy(), [[0, 3, 3, 0]] * 2)


# -- networks against Brian2 --------------------------------------------------------------------------------

@pytest.mark.parametrize("convention", ["pynn", "spinnaker"])
@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_lif_network_equals_brian2(reset, convention):
    net = Network(dt=1.0, delay_convention=convention, populations=[
        source([[1, 2, 3, 9, 10, 20], [4, 5, 6, 7, 21], [2, 8, 14, 15, 16]]),
        Population("a", 4, LIF(beta=0.8, threshold=1.0, reset=reset, mem_init=[0.0, 0.5, 0.9, 1.2])),
        Population("b", 2, LIF(beta=0.95, threshold=0.7, reset=reset))],
        projections=[Projection("in", "src", "a", AllToAll(), weight=[0.3, 0.5, 0.2, 0.4] * 3, delay=1.0),
                     Projection("ab", "a", "b", AllToAll(), weight=0.45, delay=2.0),
                     Projection("inh", "src", "b", AllToAll(), weight=0.2, delay=1.0, receptor="inhibitory")],
        probes=[Probe("a", ["spikes", "mem"]), Probe("b", ["spikes", "mem"])])
    reference, got = run_both(net, "torch", 40.0)
    assert len(reference.spikes["a"].times) > 5 and len(reference.spikes["b"].times) > 0
    assert_same(reference, got)


def test_fixed_step_and_one_step_delays_equal_brian2():
    cell = IFCurrExp(**{**EXACT, "integration": "fixed_step"})
    net = Network(dt=1.0, delay_convention="spinnaker", populations=[
        source([[0, 5, 6, 13], [2, 9, 20]]), Population("a", 2, cell), Population("b", 2, cell)],
        projections=[Projection("in", "src", "a", OneToOne(), weight=6.0, delay=1.0),
                     Projection("ab", "a", "b", AllToAll(), weight=4.0, delay=1.0),
                     Projection("inh", "src", "b", OneToOne(), weight=1.0, delay=2.0, receptor="inhibitory")],
        probes=[Probe("a", ["spikes", "v", "isyn_exc"]), Probe("b", ["spikes", "v", "isyn_inh"])])
    reference, got = run_both(net, "torch", 30.0)
    assert len(reference.spikes["b"].times) > 0
    assert_same(reference, got)


def test_sparse_projection_equals_brian2():
    net = Network(dt=0.5, seed=4, populations=[Population("noise", 60, Poisson(rate=80.0)),
                                               Population("n", 60, IFCurrExp(**{**EXACT, "tau_refrac": 1.0}))],
                  projections=[Projection("p", "noise", "n", FixedProbability(p=0.04), weight=9.0, delay=1.0)],
                  probes=[Probe("n", ["spikes", "v"])])
    sim = spikemem.compile(net, backend="torch")
    assert sim._static[0].matrix.kind == "sparse"
    got = sim.run(100.0)
    reference = spikemem.compile(net, backend="brian2").run(100.0)
    assert len(reference.spikes["n"].times) > 10
    assert_same(reference, got)


def test_plastic_weight_sent_through_a_long_delay_is_the_end_of_its_step():
    """Delay 4 steps, post_delay 2, a gate 1 step late, into LIF and IFCurrExp targets; run in segments."""
    rule = STDP(timing=SpikePair(tau_plus=4.0, tau_minus=5.0, A_plus=0.3, A_minus=0.2, post_delay=2.0),
                weights=Multiplicative(w_min=0.0, w_max=8.0),
                gate=LearningGate(population="gate", window=15.0, delay=1.0, forget="post"))
    net = Network(dt=1.0, populations=[
        Population("pre", 2, SpikeSource([[2.0, 6.0, 7.0, 25.0, 33.0], [4.0, 12.0, 29.0]])),
        Population("teacher", 2, SpikeSource([[3.0, 10.0, 27.0], [5.0, 30.0]])),
        Population("gate", 1, SpikeSource([[1.0, 22.0]])),
        Population("post", 2, IFCurrExp(**EXACT)), Population("leaky", 2, LIF(beta=0.9, threshold=3.0))],
        projections=[Projection("teach", "teacher", "post", OneToOne(), weight=20.0, delay=2.0),
                     Projection("plastic", "pre", "post", AllToAll(), weight=3.0, delay=4.0, synapse=rule),
                     Projection("to_lif", "pre", "leaky", AllToAll(), weight=2.0, delay=3.0,
                                synapse=STDP(timing=SpikePair(post_delay=1.0, A_plus=0.5, A_minus=0.1),
                                             weights=Additive(w_min=0.0, w_max=4.0)))],
        probes=[Probe("post", ["spikes", "v"]), Probe("leaky", ["spikes", "mem"])])
    reference = spikemem.compile(net, backend="brian2").run(40.0)
    sim = spikemem.compile(net, backend="torch")
    got = [sim.run(d) for d in (13.0, 1.0, 26.0)][-1]
    assert not np.allclose(reference.weights["plastic"], 3.0)
    assert_same(reference, got)
    np.testing.assert_allclose(sim.weights("plastic"), reference.weights["plastic"], atol=1e-12, rtol=0)
    np.testing.assert_array_equal(sim.weights("teach"), np.where(np.eye(2, dtype=bool), 20.0, np.nan))


@st.composite
def plastic_networks(draw) -> Network:
    """A source and a teacher drive 1-2 populations through a random pair rule."""
    n_src = draw(st.integers(1, 4))
    times = [sorted(draw(st.sets(st.integers(0, 30), max_size=6))) for _ in range(n_src)]
    lif = draw(st.booleans())
    model = LIF(beta=0.8, threshold=2.0, reset=draw(st.sampled_from(["subtract", "zero"]))) if lif else \
        IFCurrExp(**{**EXACT, "integration": draw(st.sampled_from(["exact", "fixed_step"])),
                     "tau_refrac": draw(st.sampled_from([0.0, 1.0, 2.0]))})
    n_post = draw(st.integers(1, 4))
    gate = None
    pops = [source(times), Population("teacher", n_post, SpikeSource(
        [sorted(draw(st.sets(st.integers(0, 30), max_size=5))) for _ in range(n_post)])),
        Population("post", n_post, model)]
    if draw(st.booleans()):
        pops.append(Population("g", 1, SpikeSource([sorted(draw(st.sets(st.integers(0, 30), max_size=3)))])))
        gate = LearningGate(population="g", window=float(draw(st.integers(1, 10))), delay=float(draw(st.integers(0, 3))),
                            reset_traces=draw(st.booleans()), forget=draw(st.sampled_from(["none", "pre", "post"])))
    weights = draw(st.sampled_from([Additive(w_min=0.0, w_max=4.0), Multiplicative(w_min=0.5, w_max=3.0)]))
    rule = STDP(timing=SpikePair(tau_plus=float(draw(st.integers(1, 8))), tau_minus=float(draw(st.integers(1, 8))),
                                 A_plus=draw(st.floats(0.0, 0.5)), A_minus=draw(st.floats(0.0, 0.5)),
                                 traces=draw(st.sampled_from(["all_to_all", "nearest"])),
                                 post_delay=float(draw(st.integers(0, 3))),
                                 same_step=draw(st.sampled_from(["pre_first", "post_first"]))),
                weights=weights, gate=gate)
    connector = draw(st.sampled_from([AllToAll(), FixedProbability(p=0.6)]))
    teach = 3.0 if lif else 20.0
    return Network(dt=1.0, seed=draw(st.integers(0, 50)), delay_convention=draw(st.sampled_from(["pynn", "spinnaker"])),
                   populations=pops,
                   projections=[Projection("teach", "teacher", "post", OneToOne(), weight=teach, delay=1.0),
                                Projection("plastic", "src", "post", connector, weight=1.0,
                                           delay=float(draw(st.integers(1, 4))), synapse=rule,
                                           receptor=draw(st.sampled_from(["excitatory", "inhibitory"])))],
                   probes=[Probe("post", ["spikes", "mem" if lif else "v"])])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=plastic_networks())
def test_random_plastic_networks_equal_brian2(net):
    reference, got = run_both(net, "torch", 40.0)
    assert_same(reference, got)


# -- batches ---------------------------------------------------------------------------------------------------

def _batch_net(times: list[list[float]]) -> Network:
    rule = STDP(timing=SpikePair(tau_plus=4.0, tau_minus=5.0, A_plus=0.2, A_minus=0.1), weights=Additive(0.0, 9.0))
    return Network(dt=1.0, seed=5, populations=[
        Population("src", 3, SpikeSource(times)), Population("noise", 2, Poisson(rate=100.0)),
        Population("n", 3, IFCurrExp(**EXACT))],
        projections=[Projection("p", "src", "n", AllToAll(), weight=4.0, delay=2.0, synapse=rule),
                     Projection("q", "noise", "n", AllToAll(), weight=2.0, delay=1.0)],
        probes=[Probe("src"), Probe("n", ["spikes", "v"])])


def test_batch_trials_equal_single_runs():
    trials = [[[1.0, 8.0, 20.0], [3.0], [10.0, 11.0]], [[], [2.0, 5.0, 30.0], [6.0]], [[4.0, 5.0, 6.0], [], []]]
    sim = spikemem.compile(_batch_net(trials[0]), backend="torch", stimuli={"src": trials})
    assert sim.batch == 3
    batch = [sim.run(d) for d in (17.0, 23.0)][-1]
    assert isinstance(batch, BatchResult) and len(batch) == 3 and batch.t_stop == 40.0
    w = sim.weights("p")
    assert w.shape == (3, 3, 3)
    for b, spike_times in enumerate(trials):
        alone = spikemem.compile(_batch_net(spike_times), backend="torch").run(40.0)
        assert_same(alone, batch[b])
        np.testing.assert_array_equal(w[b], alone.weights["p"])
    reference = spikemem.compile(_batch_net(trials[1]), backend="brian2").run(40.0)
    assert_same(reference, batch[1])
    assert len({len(r.spikes["n"].times) for r in batch}) > 1  # the trials differ


def test_batch_without_stimuli_repeats_the_network():
    batch = spikemem.compile(_batch_net([[1.0], [2.0], [3.0]]), backend="torch", batch=2).run(30.0)
    assert batch[0].spikes["n"].events(1.0) == batch[1].spikes["n"].events(1.0)
    np.testing.assert_array_equal(batch[0].state["n"]["v"], batch[1].state["n"]["v"])


# -- options and errors ---------------------------------------------------------------------------------------

def _tiny() -> Network:
    return Network(dt=1.0, populations=[Population("s", 2, SpikeSource([[1.0], []])),
                                        Population("a", 1, IFCurrExp(**EXACT))],
                   projections=[Projection("p", "s", "a", AllToAll(), weight=1.0, delay=1.0)])


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_one_clear_error():
    with pytest.raises(SpikememError, match=r"device='cuda'.*no CUDA device.*device='cpu'"):
        spikemem.compile(_tiny(), backend="torch", device="cuda")


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="dtype: must be torch.float64 or torch.float32"):
        spikemem.compile(_tiny(), backend="torch", dtype=torch.int32)
    with pytest.raises(ValueError, match="batch: must be an integer >= 1"):
        spikemem.compile(_tiny(), backend="torch", batch=0)
    with pytest.raises(DescriptionError) as info:
        spikemem.compile(_tiny(), backend="torch", batch=2,
                         stimuli={"a": [[[1.0]], [[2.0]]], "s": [[[1.0, 1.2], []], [[1.0]]], "t": []})
    assert info.value.problems == [
        "stimuli['a']: not a SpikeSource population (SpikeSource populations: s)",
        "stimuli['s'][0][0]: two spikes fall in one step of 1.0 ms; a neuron spikes at most once per step",
        "stimuli['s'][1]: needs one list of times per neuron (2), got 1",
        "stimuli['t']: not a SpikeSource population (SpikeSource populations: s)"]
    with pytest.raises(DescriptionError, match=r"stimuli\['s'\]: needs one spike_times per trial \(batch=3\), got 2"):
        spikemem.compile(_tiny(), backend="torch", batch=3, stimuli={"s": [[[1.0], []], [[], [2.0]]]})


def test_float32_follows_float64_to_its_precision():
    net = _tiny()
    net.populations[0].model.spike_times = [[1.0, 4.0, 5.0, 6.0], [5.0, 6.0]]
    net.projections[0].weight = 6.0
    net.probes = [Probe("a", ["spikes", "v"])]
    got = spikemem.compile(net, backend="torch", dtype="float32").run(20.0)
    reference = spikemem.compile(net, backend="brian2").run(20.0)
    assert reference.spikes["a"].events(1.0) == got.spikes["a"].events(1.0) != set()
    np.testing.assert_allclose(got.state["a"]["v"], reference.state["a"]["v"], atol=1e-4, rtol=0)


def test_plastic_duplicate_pairs_are_refused_by_name():
    net = _tiny()
    net.projections[0] = Projection("p", "s", "a", FromList([[0, 0], [0, 0]]), weight=0.5, delay=1.0,
                                    synapse=STDP())
    with pytest.raises(UnsupportedFeature, match=r"projections\[0\] \(p\): a plastic projection with two synapses"):
        spikemem.compile(net, backend="torch")


# -- the CA3 memory ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_published_ca3_equals_spinnaker(experiment):
    ops, n_cues, n_bits = cam.load_experiment(experiment)
    run = cam.run_ops(ops, n_cues, n_bits, variant="published", backend="torch")
    recorded = recorded_events(experiment)
    diff = {col: len(events ^ run.result.spikes[col].events(1.0)) for col, events in recorded.items()}
    assert len(diff) == 12 and sum(len(e) for e in recorded.values()) > 300
    assert diff == {col: 0 for col in diff}, f"differing events per column: {diff}"


def _same_runs(a: cam.CamRun, b: cam.CamRun) -> None:
    assert a.result.spikes.keys() == b.result.spikes.keys()
    for name in a.result.spikes:
        assert a.result.spikes[name].events(1.0) == b.result.spikes[name].events(1.0), name
    for name, w in a.result.weights.items():
        np.testing.assert_allclose(b.result.weights[name], w, atol=1e-12, rtol=0)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_default_ca3_equals_brian2_on_the_paper_experiments(experiment):
    ops, n_cues, n_bits = cam.load_experiment(experiment)
    got = cam.run_ops(ops, n_cues, n_bits, backend="torch")
    _same_runs(cam.run_ops(ops, n_cues, n_bits, backend="brian2"), got)
    assert got.mismatches() == []


@pytest.mark.parametrize("size", [(5, 10), (24, 24)])
def test_default_ca3_equals_brian2_on_random_sequences(size):
    ops = cam.random_ops(*size, n_ops=100, seed=0)
    got = cam.run_ops(ops, *size, backend="torch")
    _same_runs(cam.run_ops(ops, *size, backend="brian2"), got)
    assert got.correct == 100


def test_batched_ca3_sequences_equal_single_runs():
    op_lists = [cam.random_ops(24, 24, n_ops=100, seed=s) for s in range(4)]
    batch = cam.run_batch(op_lists, 24, 24)
    for ops, run in zip(op_lists, batch):
        alone = cam.run_ops(ops, 24, 24, backend="torch")
        _same_runs(alone, run)
        assert run.correct == 100 and run.got == alone.got
    assert len({tuple(r.result.spikes["OUTcue"].times) for r in batch}) == 4  # four different sequences
