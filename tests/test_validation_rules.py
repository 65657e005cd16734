"""Every value rule of ``Network.validate`` (network.py, and each node's ``problems()`` in neurons.py and
synapses.py): one bad case per rule, with the field path and the key words of the message it must report,
and a neighbouring good value that must report nothing.

The cases were listed by reading the rules, one after the other; each starts from :func:`good`, a network
that holds every kind of node and validates clean.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from spikemem.ir.network import Network, Population, Probe, Projection
from spikemem.ir.neurons import LIF, IFCurrExp, Poisson, SpikeSource
from spikemem.ir.synapses import (STDP, Additive, AllToAll, FixedProbability, FromList, LearningGate,
                                  Multiplicative, Normal, OneToOne, SpikePair, Uniform)


def good() -> Network:
    """A valid network with every neuron model, connector, weight kind, rule and a gate (dt = 0.5 ms)."""
    return Network(name="rules", dt=0.5, seed=1, populations=[
        Population("src", 3, SpikeSource(spike_times=[[0.0, 1.0], [2.5], []])),   # 0
        Population("noise", 2, Poisson(rate=10.0, start=0.0, duration=5.0)),       # 1
        Population("exc", 3, IFCurrExp(tau_refrac=1.0)),                           # 2
        Population("inh", 4, IFCurrExp(tau_refrac=0.5)),                           # 3
        Population("readout", 3, LIF()),                                           # 4
        Population("gate", 1, SpikeSource(spike_times=[[1.0]])),                   # 5
    ], projections=[
        Projection("src_exc", "src", "exc", OneToOne(), weight=1.0, delay=1.0),                           # 0
        Projection("noise_inh", "noise", "inh", FixedProbability(p=0.5), weight=Normal(1.0, 0.2)),       # 1
        Projection("exc_inh", "exc", "inh", FromList(connections=[[0, 0], [2, 3]]), weight=[0.5, 0.7]),  # 2
        Projection("inh_exc", "inh", "exc", AllToAll(), weight=Uniform(0.1, 0.2), receptor="inhibitory"),  # 3
        Projection("plastic", "exc", "readout", AllToAll(), weight=0.5, delay=1.5,                       # 4
                   synapse=STDP(timing=SpikePair(tau_plus=10.0, tau_minus=12.0, A_plus=0.1, A_minus=0.1,
                                                 post_delay=0.5),
                                weights=Additive(w_min=0.0, w_max=1.0),
                                gate=LearningGate(population="gate", window=3.0, delay=0.5))),
        Projection("mult", "src", "readout", AllToAll(), weight=[0.5] * 9,                               # 5
                   synapse=STDP(weights=Multiplicative(w_min=0.0, w_max=2.0))),
    ], probes=[Probe("exc", ["spikes", "v"]), Probe("readout", ["mem"])])


def _pop(net: Network, k: int):
    return net.populations[k]


def _proj(net: Network, k: int):
    return net.projections[k]


def _set(get: Callable[[Network], object], attr: str, value: object) -> Callable[[Network], None]:
    def change(net: Network) -> None:
        setattr(get(net), attr, value)
    return change


def model(k: int, attr: str, value: object) -> Callable[[Network], None]:
    return _set(lambda net: _pop(net, k).model, attr, value)


def pop(k: int, attr: str, value: object) -> Callable[[Network], None]:
    return _set(lambda net: _pop(net, k), attr, value)


def proj(k: int, attr: str, value: object) -> Callable[[Network], None]:
    return _set(lambda net: _proj(net, k), attr, value)


def connector(k: int, attr: str, value: object) -> Callable[[Network], None]:
    return _set(lambda net: _proj(net, k).connector, attr, value)


def timing(attr: str, value: object, k: int = 4) -> Callable[[Network], None]:
    return _set(lambda net: _proj(net, k).synapse.timing, attr, value)


def weights(k: int, attr: str, value: object) -> Callable[[Network], None]:
    return _set(lambda net: _proj(net, k).synapse.weights, attr, value)


def gate(attr: str, value: object) -> Callable[[Network], None]:
    return _set(lambda net: _proj(net, 4).synapse.gate, attr, value)


def add_population(name: str) -> Callable[[Network], None]:
    def change(net: Network) -> None:
        net.populations.append(Population(name, 3, IFCurrExp(tau_refrac=1.0)))  # a twin of 'exc'

    return change


def net_field(attr: str, value: object) -> Callable[[Network], None]:
    return _set(lambda net: net, attr, value)


def probe(k: int, attr: str, value: object) -> Callable[[Network], None]:
    return _set(lambda net: net.probes[k], attr, value)


@dataclass(frozen=True)
class Rule:
    id: str
    bad: Callable[[Network], None]
    path: str                      #: the field path the problem must start with
    words: str                     #: a key part of its message
    fine: Callable[[Network], None]  #: the nearest good value: no problem at all
    others: int = 0                #: problems that the bad value necessarily brings along


RULES = [
    Rule("v_init one value per neuron", model(2, "v_init", [-65.0, -60.0]), "populations[2].model.v_init",
         "needs one value per neuron (3), got 2", model(2, "v_init", [-65.0, -60.0, -55.0])),
    Rule("mem_init one value per neuron", model(4, "mem_init", [0.0] * 4), "populations[4].model.mem_init",
         "needs one value per neuron (3), got 4", model(4, "mem_init", Uniform(0.0, 0.5))),
    Rule("v_init distribution", model(3, "v_init", Normal(-60.0, -1.0)), "populations[3].model.v_init.std",
         "must be >= 0, got -1.0", model(3, "v_init", Normal(-60.0, 1.0))),
    Rule("weight list >= 0", proj(2, "weight", [0.5, -0.7]), "projections[2].weight[1]",
         "must be >= 0 (the receptor gives the sign), got -0.7", proj(2, "weight", [0.5, 0.0])),
    Rule("weight list one per synapse", proj(2, "weight", [0.5, 0.7, 0.9]), "projections[2].weight",
         "the list has 3 values but the connector makes 2 synapses", proj(2, "weight", [0.9, 0.7])),
    Rule("plastic weight list inside bounds", proj(5, "weight", [0.5] * 8 + [2.5]), "projections[5].weight[8]",
         "initial weight 2.5 outside [w_min, w_max] = [0.0, 2.0]", proj(5, "weight", [0.5] * 8 + [2.0])),
    # -- network.py: the network and its populations
    Rule("dt>0", net_field("dt", 0.0), "dt", "must be > 0 ms, got 0.0", net_field("dt", 0.25)),
    Rule("dt>0 negative", net_field("dt", -0.5), "dt", "must be > 0 ms, got -0.5", net_field("dt", 0.125)),
    Rule("population name unique", add_population("exc"), "populations[6].name",
         "duplicate population name 'exc'", add_population("exc2")),
    Rule("population name identifier", add_population("2readout"), "populations[6].name",
         "'2readout' must be an identifier", add_population("readout_2")),
    Rule("population size >= 1", pop(4, "size", 0), "populations[4].size", "must be an integer >= 1, got 0",
         pop(4, "size", 3)),
    Rule("tau_refrac whole steps", model(2, "tau_refrac", 0.75), "populations[2].model.tau_refrac",
         "must be a whole number of steps (dt=0.5 ms), got 0.75", model(2, "tau_refrac", 1.5)),
    Rule("spike_times one list per neuron", model(0, "spike_times", [[0.0], [1.0]]),
         "populations[0].model.spike_times", "needs one list per neuron (3), got 2",
         model(0, "spike_times", [[0.0], [1.0], []])),
    Rule("spike_times one spike per step", model(0, "spike_times", [[0.0, 1.0], [2.5, 2.7], []]),
         "populations[0].model.spike_times[1]", "two spikes fall in one step of 0.5 ms",
         model(0, "spike_times", [[0.0, 1.0], [2.5, 3.0], []])),
    # -- neurons.py: IFCurrExp
    *[Rule(f"IFCurrExp {f} > 0", model(2, f, 0.0), f"populations[2].model.{f}", "must be > 0, got 0.0",
           model(2, f, 0.5)) for f in ("cm", "tau_m", "tau_syn_E", "tau_syn_I")],
    Rule("IFCurrExp tau_refrac >= 0", model(3, "tau_refrac", -0.5), "populations[3].model.tau_refrac",
         "must be >= 0, got -0.5", model(3, "tau_refrac", 0.0)),
    Rule("IFCurrExp v_reset < v_thresh", model(2, "v_reset", -50.0), "populations[2].model.v_reset",
         "must be below v_thresh (-50.0), got -50.0", model(2, "v_reset", -50.5)),
    # -- LIF
    Rule("LIF beta <= 1", model(4, "beta", 1.5), "populations[4].model.beta", "must be in [0, 1], got 1.5",
         model(4, "beta", 1.0)),
    Rule("LIF beta >= 0", model(4, "beta", -0.1), "populations[4].model.beta", "must be in [0, 1], got -0.1",
         model(4, "beta", 0.0)),
    Rule("LIF threshold > 0", model(4, "threshold", 0.0), "populations[4].model.threshold",
         "must be > 0, got 0.0", model(4, "threshold", 0.1)),
    # -- SpikeSource
    Rule("spike times >= 0", model(0, "spike_times", [[0.0, 1.0], [-2.5], []]),
         "populations[0].model.spike_times[1]", "times must be >= 0 ms",
         model(0, "spike_times", [[0.0, 1.0], [0.5], []])),
    # -- Poisson
    Rule("Poisson rate >= 0", model(1, "rate", -1.0), "populations[1].model.rate", "must be >= 0 Hz, got -1.0",
         model(1, "rate", 0.0)),
    Rule("Poisson start >= 0", model(1, "start", -1.0), "populations[1].model.start", "must be >= 0 ms",
         model(1, "start", 0.5)),
    Rule("Poisson duration >= 0", model(1, "duration", -1.0), "populations[1].model.duration",
         "must be >= 0 ms", model(1, "duration", 0.0)),
    # -- network.py: projections
    Rule("projection name unique", proj(3, "name", "exc_inh"), "projections[3].name",
         "duplicate projection name 'exc_inh'", proj(3, "name", "exc_inh2")),
    Rule("projection name identifier", proj(3, "name", "inh-exc"), "projections[3].name",
         "'inh-exc' must be an identifier", proj(3, "name", "inh_to_exc")),
    Rule("pre known", proj(3, "pre", "inhh"), "projections[3].pre", "unknown population 'inhh' (known: src,",
         proj(3, "pre", "noise")),
    Rule("post known", proj(3, "post", "ex"), "projections[3].post", "unknown population 'ex' (known: src,",
         proj(3, "post", "readout")),
    Rule("post not a source", proj(3, "post", "noise"), "projections[3].post",
         "'noise' is a spike source and cannot receive synapses", proj(3, "post", "inh")),
    Rule("one_to_one equal sizes", proj(0, "post", "inh"), "projections[0].connector",
         "one_to_one needs equal sizes, got 3 -> 4", proj(0, "post", "readout")),
    Rule("from_list pre index in range", connector(2, "connections", [[0, 0], [3, 3]]),
         "projections[2].connector.connections[1]", "index out of range [3, 3]",
         connector(2, "connections", [[0, 0], [2, 3]])),
    Rule("from_list post index in range", connector(2, "connections", [[0, 0], [2, 4]]),
         "projections[2].connector.connections[1]", "index out of range [2, 4]",
         connector(2, "connections", [[0, 0], [1, 3]])),
    Rule("from_list index >= 0", connector(2, "connections", [[-1, 0], [2, 3]]),
         "projections[2].connector.connections[0]", "index out of range [-1, 0]",
         connector(2, "connections", [[0, 1], [2, 3]])),
    Rule("scalar weight >= 0", proj(0, "weight", -0.5), "projections[0].weight",
         "must be >= 0 (the receptor gives the sign), got -0.5", proj(0, "weight", 0.0)),
    Rule("delay >= 1 step", proj(0, "delay", 0.0), "projections[0].delay",
         "must be a whole number >= 1 of steps (dt=0.5 ms), got 0.0", proj(0, "delay", 0.5)),
    Rule("delay whole steps", proj(0, "delay", 1.25), "projections[0].delay",
         "must be a whole number >= 1 of steps (dt=0.5 ms), got 1.25", proj(0, "delay", 2.5)),
    # -- synapses.py: connectors and weight distributions
    Rule("fixed_probability p <= 1", connector(1, "p", 1.5), "projections[1].connector.p",
         "must be in [0, 1], got 1.5", connector(1, "p", 1.0)),
    Rule("fixed_probability p >= 0", connector(1, "p", -0.1), "projections[1].connector.p",
         "must be in [0, 1], got -0.1", connector(1, "p", 0.0)),
    Rule("from_list pairs", connector(2, "connections", [[0, 0], [2, 3, 1]]),
         "projections[2].connector.connections[1]", "must be a [pre, post] pair, got [2, 3, 1]",
         connector(2, "connections", [[0, 0], [2, 1]])),
    Rule("Normal std >= 0", proj(1, "weight", Normal(1.0, -0.2)), "projections[1].weight.std",
         "must be >= 0, got -0.2", proj(1, "weight", Normal(1.0, 0.0))),
    Rule("Uniform low <= high", proj(3, "weight", Uniform(0.3, 0.2)), "projections[3].weight.high",
         "must be >= low (0.3)", proj(3, "weight", Uniform(0.2, 0.2))),
    # -- STDP: timing, weight dependence, gate (synapses.py and network.py)
    *[Rule(f"STDP {f} > 0", timing(f, 0.0), f"projections[4].synapse.timing.{f}", "must be > 0, got 0.0",
           timing(f, 0.5)) for f in ("tau_plus", "tau_minus")],
    *[Rule(f"STDP {f} >= 0", timing(f, -0.5), f"projections[4].synapse.timing.{f}", "must be >= 0, got -0.5",
           timing(f, 0.0)) for f in ("A_plus", "A_minus", "post_delay")],
    Rule("STDP post_delay whole steps", timing("post_delay", 0.75), "projections[4].synapse.timing.post_delay",
         "must be a whole number of steps, got 0.75", timing("post_delay", 1.0)),
    # an empty [w_min, w_max] also holds no initial weight: the scalar weight 0.5 is reported as well
    Rule("Additive w_min <= w_max", weights(4, "w_min", 1.5), "projections[4].synapse.weights.w_max",
         "must be >= w_min (1.5)", weights(4, "w_min", 0.5), others=1),
    Rule("Multiplicative w_min <= w_max", weights(5, "w_max", -1.0), "projections[5].synapse.weights.w_max",
         "must be >= w_min (0.0)", weights(5, "w_max", 0.5)),
    Rule("gate population named", gate("population", ""), "projections[4].synapse.gate.population",
         "must name the population whose spikes open the gate", gate("population", "src")),
    Rule("gate population known", gate("population", "gates"), "projections[4].synapse.gate.population",
         "unknown population 'gates'", gate("population", "noise")),
    Rule("gate window > 0", gate("window", 0.0), "projections[4].synapse.gate.window", "must be > 0 ms, got 0.0",
         gate("window", 0.5)),
    Rule("gate delay >= 0", gate("delay", -0.5), "projections[4].synapse.gate.delay", "must be >= 0 ms, got -0.5",
         gate("delay", 0.0)),
    Rule("gate delay whole steps", gate("delay", 0.25), "projections[4].synapse.gate.delay",
         "must be a whole number of steps, got 0.25", gate("delay", 1.0)),
    Rule("initial weight <= w_max", proj(4, "weight", 1.5), "projections[4].weight",
         "initial weight 1.5 outside [w_min, w_max] = [0.0, 1.0]", proj(4, "weight", 1.0)),
    Rule("initial weight >= w_min", weights(4, "w_min", 0.6), "projections[4].weight",
         "initial weight 0.5 outside [w_min, w_max] = [0.6, 1.0]", weights(4, "w_min", 0.5)),
    # -- probes
    Rule("probe population known", probe(0, "population", "exc2"), "probes[0].population",
         "unknown population 'exc2'", probe(0, "population", "inh")),
    Rule("probe variable recordable", probe(1, "variables", ["spikes", "v"]), "probes[1].variables",
         "'v' cannot be recorded from LIF (can: spikes, mem)", probe(1, "variables", ["spikes"])),
]


def test_the_good_network_is_valid():
    assert good().validate() == []


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule(rule: Rule):
    bad = good()
    rule.bad(bad)
    problems = bad.validate()
    mine = [p for p in problems if p.startswith(f"{rule.path}: ")]
    assert len(mine) == 1 and rule.words in mine[0], problems
    assert len(problems) == 1 + rule.others, problems
    fine = good()
    rule.fine(fine)
    assert fine.validate() == []


#: rules on different nodes that do not hide one another (a bad dt, say, would skip every step check)
TOGETHER = ["population size >= 1", "tau_refrac whole steps", "spike times >= 0", "Poisson rate >= 0",
            "IFCurrExp v_reset < v_thresh", "LIF threshold > 0", "one_to_one equal sizes", "delay whole steps",
            "fixed_probability p <= 1", "Normal std >= 0", "from_list post index in range",
            "Uniform low <= high", "STDP tau_minus > 0", "gate window > 0", "initial weight <= w_max",
            "Multiplicative w_min <= w_max", "probe variable recordable", "projection name identifier"]


def test_every_problem_in_one_call():
    by_id = {r.id: r for r in RULES}
    net = good()
    for rule_id in TOGETHER:
        by_id[rule_id].bad(net)
    problems = net.validate()
    for rule_id in TOGETHER:
        rule = by_id[rule_id]
        assert any(p.startswith(f"{rule.path}: ") and rule.words in p for p in problems), (rule_id, problems)
    assert len(problems) == len(TOGETHER), problems
