"""Descriptions survive YAML and JSON: random valid networks (hypothesis) and one test per node type."""
from __future__ import annotations

import dataclasses
import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spikemem
from conftest import ROOT
from spikemem import (LIF, STDP, Additive, AllToAll, DescriptionError, FixedProbability, FromList, IFCurrExp,
                      LearningGate, Multiplicative, Network, Normal, OneToOne, Poisson, Population,
                      Probe, Projection, SpikePair, SpikeSource, Static, Uniform)

SETTINGS = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# -- strategies ----------------------------------------------------------------

# strings that YAML would read as something else unless the writer quotes them
TRICKY = ["yes", "no", "on", "null", "~", "1.5", "0x10", "1e3", "- a", "a: b", "#c", " x ",
          "é ü", "multi\nline", "'quoted'", '"dq"', "@at", "%pct", "true"]
texts = st.one_of(st.sampled_from(TRICKY + [""]),
                  st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12))


def num(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


positive = st.one_of(num(1e-3, 1e3), st.sampled_from([1e-7, 3e-5, 1e6, 0.1, 0.3, 1 / 3]))
anyfloat = st.one_of(num(-1e4, 1e4), st.sampled_from([0.0, -0.0, 1e-12, -2.5e7, 0.1 + 0.2]))
steps = st.integers(0, 5)


def initial(size):
    """An initial state: a number, a distribution or one value per neuron."""
    return st.one_of(anyfloat, st.builds(Normal, mean=anyfloat, std=num(0.0, 10.0)),
                     num(-80.0, 0.0).flatmap(lambda lo: st.builds(Uniform, low=st.just(lo), high=num(lo, lo + 20.0))),
                     st.lists(anyfloat, min_size=size, max_size=size))


@st.composite
def ifcurrexp(draw, dt, size):
    thresh = draw(num(-80.0, 20.0))
    return IFCurrExp(cm=draw(positive), tau_m=draw(positive), tau_refrac=draw(steps) * dt,
                     tau_syn_E=draw(positive), tau_syn_I=draw(positive), v_rest=draw(anyfloat),
                     v_reset=thresh - draw(num(0.01, 50.0)), v_thresh=thresh,
                     i_offset=draw(anyfloat), v_init=draw(initial(size)),
                     integration=draw(st.sampled_from(["exact", "fixed_step"])))


def lif(size):
    return st.builds(LIF, beta=num(0.0, 1.0), threshold=positive,
                     reset=st.sampled_from(["subtract", "zero"]), mem_init=initial(size))


poisson = st.builds(Poisson, rate=num(0.0, 1e4), start=num(0.0, 1e5), duration=st.none() | num(0.0, 1e9))


def spike_source(size):
    # at most one spike per step of the coarsest dt (1 ms): validate() refuses two in one step
    times = st.lists(st.integers(0, 100_000), max_size=4, unique=True).map(
        lambda ms: [m + 0.25 * (m % 3) for m in ms])
    return st.one_of(st.just(SpikeSource()),
                     st.builds(SpikeSource, st.lists(times, min_size=size, max_size=size)))


@st.composite
def neuron(draw, size, dt):
    return draw(st.one_of(ifcurrexp(dt, size), lif(size), poisson, spike_source(size)))


@st.composite
def spike_pair(draw, dt):
    return SpikePair(tau_plus=draw(positive), tau_minus=draw(positive), A_plus=draw(num(0.0, 10.0)),
                     A_minus=draw(num(0.0, 10.0)), traces=draw(st.sampled_from(["all_to_all", "nearest"])),
                     post_delay=draw(st.integers(0, 3)) * dt,
                     same_step=draw(st.sampled_from(["pre_first", "post_first"])))


@st.composite
def stdp(draw, dt, pop_names):
    w_min = draw(num(0.0, 5.0))
    w_max = w_min + draw(num(0.0, 10.0))
    dep = draw(st.sampled_from([Additive, Multiplicative]))(w_min=w_min, w_max=w_max)
    gate = draw(st.none() | st.builds(
        LearningGate, population=st.sampled_from(pop_names), window=positive,
        reset_traces=st.booleans(), forget=st.sampled_from(["none", "pre", "post"])))
    return STDP(timing=draw(spike_pair(dt)), weights=dep, gate=gate)


@st.composite
def projection(draw, name, pops, dt):
    targets = [p for p in pops if not isinstance(p.model, (SpikeSource, Poisson))]
    post = draw(st.sampled_from(targets))
    pre = draw(st.sampled_from(pops))
    kinds = ["all_to_all", "fixed_probability", "from_list"]
    if pre.size == post.size:
        kinds.append("one_to_one")
    kind = draw(st.sampled_from(kinds))
    if kind == "one_to_one":
        connector, n = OneToOne(), pre.size
    elif kind == "all_to_all":
        self_pairs = draw(st.booleans())  # without them, i -> i is dropped (also between populations)
        connector = AllToAll(allow_self_connections=self_pairs)
        n = pre.size * post.size - (0 if self_pairs else min(pre.size, post.size))
    elif kind == "fixed_probability":
        connector, n = FixedProbability(p=draw(num(0.0, 1.0)),
                                        allow_self_connections=draw(st.booleans())), None
    else:
        pairs = st.lists(st.tuples(st.integers(0, pre.size - 1), st.integers(0, post.size - 1))
                         .map(list), max_size=6)
        connections = draw(pairs)
        connector, n = FromList(connections=connections), len(connections)
    synapse = draw(st.one_of(st.just(Static()), stdp(dt, [p.name for p in pops])))
    if isinstance(synapse, STDP):
        lo, hi = synapse.weights.w_min, synapse.weights.w_max
        weight = draw(num(lo, hi))
    else:
        options = [num(0.0, 100.0),
                   st.builds(Normal, mean=anyfloat, std=num(0.0, 10.0)),
                   num(-5.0, 5.0).flatmap(lambda lo: st.builds(Uniform, low=st.just(lo),
                                                                high=num(lo, lo + 10.0)))]
        if n is not None:
            options.append(st.lists(num(0.0, 50.0), min_size=n, max_size=n))
        weight = draw(st.one_of(options))
    return Projection(name=name, pre=pre.name, post=post.name, connector=connector, weight=weight,
                      delay=draw(st.integers(1, 5)) * dt,
                      receptor=draw(st.sampled_from(["excitatory", "inhibitory"])), synapse=synapse)


@st.composite
def networks(draw):
    dt = draw(st.sampled_from([0.1, 0.25, 0.5, 1.0, 0.125]))
    names = draw(st.lists(st.one_of(st.sampled_from([t for t in TRICKY if t.isidentifier()]), st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}",
                                                                           fullmatch=True)),
                          min_size=1, max_size=4, unique=True))
    pops = []
    for name in names:
        size = draw(st.integers(1, 4))
        pops.append(Population(name=name, size=size, model=draw(neuron(size, dt))))
    projections = []
    if any(not isinstance(p.model, (SpikeSource, Poisson)) for p in pops):
        for k in range(draw(st.integers(0, 4))):
            projections.append(draw(projection(f"proj{k}", pops, dt)))
    probes = []
    for pop in draw(st.lists(st.sampled_from(pops), max_size=3)):
        recordables = list(pop.model.recordables)
        probes.append(Probe(pop.name, draw(st.lists(st.sampled_from(recordables), unique=True,
                                                    max_size=len(recordables)))))
    # whole-valued float params (2.0) are left to test_integral_float_param_survives_dump_load_dump
    params = draw(st.dictionaries(
        st.from_regex(r"n_[a-z]{1,5}", fullmatch=True),
        st.one_of(st.integers(-10**6, 10**6),
                  anyfloat.filter(lambda x: not float(x).is_integer())), max_size=3))
    return Network(name=draw(texts), dt=dt, delay_convention=draw(st.sampled_from(["pynn", "spinnaker"])),
                   seed=draw(st.integers(0, 2**32)), populations=pops, projections=projections, probes=probes, params=params, description=draw(texts))


# -- properties ------------------------------------------------------------------

@SETTINGS
@given(networks())
def test_random_network_roundtrips(net):
    """One generated network through YAML, JSON and the dict form (one test: generation is
    the expensive part)."""
    assert net.validate() == []  # the strategies make valid networks only
    # YAML: equal network, and dump -> load -> dump gives the same text
    text = spikemem.dumps(net)
    back = spikemem.loads(text)
    assert back == net
    assert spikemem.dumps(back) == text
    # JSON
    jtext = spikemem.dumps(net, "json")
    jback = spikemem.loads(jtext, fmt="json")
    assert jback == net
    assert spikemem.dumps(jback, "json") == jtext
    assert spikemem.to_dict(back) == json.loads(jtext)  # both formats hold the same content
    # dict form
    data = spikemem.to_dict(net)
    assert data["schema_version"] == 1
    assert spikemem.from_dict(data) == net
    # tagged nodes come back as the same classes (== on dataclasses already checks the class
    # of each node; this names the node when it fails)
    for a, b in zip(net.populations, back.populations, strict=True):
        assert type(a.model) is type(b.model), a.name
    for a, b in zip(net.projections, back.projections, strict=True):
        assert type(a.connector) is type(b.connector), a.name
        assert type(a.synapse) is type(b.synapse), a.name
        if isinstance(a.synapse, STDP):
            assert type(a.synapse.weights) is type(b.synapse.weights), a.name
            assert type(a.synapse.gate) is type(b.synapse.gate), a.name


def test_integral_float_param_survives_dump_load_dump():
    """params are declared dict[str, float]; a float param that happens to be whole (2.0)
    must not come back as int 2 and change the text of a second dump."""
    net = Network(populations=[Population("a", 1, LIF())], params={"scale": 2.0})
    text = spikemem.dumps(net)
    back = spikemem.loads(text)
    assert back == net
    assert spikemem.dumps(back) == text


# -- one test per node type (as NIR does) ------------------------------------------

def host(model=None, connector=None, weight=1.0, synapse=None, size=3) -> Network:
    """A small valid network holding the node under test."""
    pops = [Population("src", size, SpikeSource()), Population("gate", 1, SpikeSource()),
            Population("dst", size, model or IFCurrExp(tau_refrac=0.25))]
    proj = Projection("p", "src", "dst", connector or AllToAll(), weight=weight, delay=0.5,
                      synapse=synapse or Static())
    return Network(name="host", dt=0.25, seed=7, populations=pops, projections=[proj],
                   probes=[Probe("dst", ["spikes"])])


def roundtrip_all(net, tmp_path):
    """The network read back from YAML text, JSON text, a .yaml file and a .json file."""
    out = [spikemem.loads(spikemem.dumps(net)),
           spikemem.loads(spikemem.dumps(net, "json"), fmt="json")]
    for suffix in (".yaml", ".yml", ".json"):
        path = tmp_path / f"net{suffix}"
        spikemem.dump(net, path)
        out.append(spikemem.load(path))
    json.loads((tmp_path / "net.json").read_text())  # the .json file really is JSON
    assert isinstance(yaml.safe_load((tmp_path / "net.yaml").read_text()), dict)
    return out


NEURONS = {
    "IFCurrExp.exact": IFCurrExp(cm=0.27, tau_m=3.0, tau_refrac=1.0, tau_syn_E=0.3, tau_syn_I=0.4,
                                 v_rest=-60.0, v_reset=-61.0, v_thresh=-57.0, i_offset=0.1,
                                 v_init=-59.0, integration="exact"),
    "IFCurrExp.fixed_step": IFCurrExp(cm=0.14, tau_m=0.5, tau_refrac=0.25, integration="fixed_step"),
    "LIF.subtract": LIF(beta=0.8, threshold=1.5, reset="subtract", mem_init=0.2),
    "LIF.zero": LIF(beta=0.0, threshold=0.25, reset="zero", mem_init=-1.0),
    "SpikeSource": SpikeSource([[0.0, 1.5], [], [1e4]]),
    "SpikeSource.empty": SpikeSource(),
    "Poisson": Poisson(rate=12.5, start=3.0, duration=250.0),
}


@pytest.mark.parametrize("key", list(NEURONS))
def test_neuron_type_roundtrips(key, tmp_path):
    model = NEURONS[key]
    net = host()
    net.populations.append(Population("node", 3, model))
    net.probes.append(Probe("node", list(model.recordables)))
    net.check()
    for back in roundtrip_all(net, tmp_path):
        node = back.population("node").model
        assert type(node) is type(model)
        assert node == model
        assert back == net
    text = spikemem.dumps(net)
    assert f"type: {model.kind}" in text
    assert text.startswith("schema_version: 1\nname: host\ndt: 0.25\ndelay_convention: pynn\nseed: 7\npopulations:")


CONNECTORS = {
    "one_to_one": OneToOne(),
    "all_to_all": AllToAll(),
    "all_to_all.no_self": AllToAll(allow_self_connections=False),
    "fixed_probability": FixedProbability(p=0.35, allow_self_connections=False),
    "from_list": FromList(connections=[[0, 2], [2, 0], [1, 1]]),
    "from_list.empty": FromList(),
}


@pytest.mark.parametrize("key", list(CONNECTORS))
def test_connector_roundtrips(key, tmp_path):
    net = host(connector=CONNECTORS[key])
    net.check()
    for back in roundtrip_all(net, tmp_path):
        assert type(back.projection("p").connector) is type(CONNECTORS[key])
        assert back == net


WEIGHTS = {
    "scalar": 2.5, "normal": Normal(mean=1.0, std=0.5), "uniform": Uniform(low=0.5, high=0.75),
    "list": [0.5, 1.0, 1.5],
}


@pytest.mark.parametrize("key", list(WEIGHTS))
def test_weight_roundtrips(key, tmp_path):
    net = host(connector=OneToOne(), weight=WEIGHTS[key])
    net.check()
    for back in roundtrip_all(net, tmp_path):
        assert back.projection("p").weight == WEIGHTS[key]
        assert type(back.projection("p").weight) is type(WEIGHTS[key])
        assert back == net


SYNAPSES = {
    "static": Static(),
    "stdp.default": STDP(),
    "stdp.additive.nearest": STDP(SpikePair(tau_plus=3.0, tau_minus=4.0, A_plus=1.0, A_minus=0.5,
                                            traces="nearest", post_delay=0.25, same_step="post_first"),
                                  Additive(w_min=0.0, w_max=6.0)),
    "stdp.multiplicative": STDP(SpikePair(traces="all_to_all", post_delay=0.0, same_step="pre_first"),
                                Multiplicative(w_min=0.5, w_max=2.0)),
    "stdp.gate.pre": STDP(gate=LearningGate(population="gate", window=7.0, reset_traces=True,
                                            forget="pre")),
    "stdp.gate.post": STDP(gate=LearningGate(population="src", window=0.5, reset_traces=False,
                                             forget="post")),
    "stdp.gate.none": STDP(weights=Multiplicative(), gate=LearningGate(population="gate",
                                                                       forget="none")),
}


@pytest.mark.parametrize("key", list(SYNAPSES))
def test_synapse_roundtrips(key, tmp_path):
    syn = SYNAPSES[key]
    weight = syn.weights.w_min if isinstance(syn, STDP) else 1.0
    net = host(synapse=syn, weight=weight)
    net.check()
    for back in roundtrip_all(net, tmp_path):
        got = back.projection("p").synapse
        assert type(got) is type(syn)
        assert got == syn
        if isinstance(syn, STDP):
            assert type(got.weights) is type(syn.weights)
            assert (got.gate is None) == (syn.gate is None)
        assert back == net


def test_params_are_kept_and_numbers_resolved(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("schema_version: 1\nparams: {n: 3, w: 0.5}\npopulations:\n"
                    "  - {name: a, size: n * 2, model: {type: LIF, threshold: w + 1}}\n")
    net = spikemem.load(path)
    assert net.params == {"n": 3, "w": 0.5}
    data = spikemem.to_dict(net)
    # the numbers are computed, so the params are only a record: not declared again
    assert list(data)[:2] == ["schema_version", "params_resolved"] and "params" not in data
    assert data["populations"][0]["size"] == 6
    assert data["populations"][0]["model"] == {"type": "LIF", **dataclasses.asdict(LIF(threshold=1.5))}
    assert spikemem.loads(spikemem.dumps(net)) == net


def test_an_override_of_a_dumped_file_is_an_error_not_a_no_op(tmp_path):
    net = spikemem.load(ROOT / "models" / "ca3_cam.yaml")
    dumped = tmp_path / "ca3.yaml"
    spikemem.dump(net, dumped)
    assert spikemem.load(dumped).population("INcue").size == 5
    with pytest.raises(DescriptionError) as err:
        spikemem.load(dumped, overrides={"n_cues": 8})
    assert err.value.source == str(dumped)
    assert len(err.value.problems) == 1 and err.value.problems[0].startswith("--set n_cues: this file was "
                                                                             "written by spikemem.dump")
    # the original file still takes it
    assert spikemem.load(ROOT / "models" / "ca3_cam.yaml", overrides={"n_cues": 8}).population("INcue").size == 8
