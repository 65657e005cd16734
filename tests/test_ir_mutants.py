"""Behaviours of spikemem/ir that a mutation run (benchmarks/mutation_testing.py) found unpinned.

Each test checks a value against a reference written here (a formula, a hand count, the
message text a user reads), not against what the code under test returned before.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml

import spikemem
from spikemem import DescriptionError
from spikemem.ir.connectivity import connect, poisson_times, synapse_count
from spikemem.ir.expr import ExpressionError, evaluate
from spikemem.ir.network import Network, Population, Projection
from spikemem.ir.neurons import LIF, IFCurrExp, Poisson, SpikeSource
from spikemem.ir.synapses import (Additive, AllToAll, LearningGate, Multiplicative, Normal, OneToOne,
                                  Uniform)


# -- expr.py: messages quote the whole expression, wherever in it the problem is ------------------

@pytest.mark.parametrize("text", ["n + 1", "1 + n", "-n", "max(n, 1)", "2 * (1 + n)"])
def test_an_unknown_param_is_named_with_the_whole_expression(text):
    with pytest.raises(ExpressionError) as info:
        evaluate(text, {"a": 1, "b": 2})
    assert str(info.value) == f"expression {text!r} uses unknown param 'n' (declared params: a, b)"


def test_an_unknown_param_without_declared_params():
    with pytest.raises(ExpressionError, match=r"\(declared params: none\)$"):
        evaluate("n", {})


@pytest.mark.parametrize("text, message", [
    ("1 / (a - a)", "expression '1 / (a - a)' divides by zero"),
    ("a // 0", "expression 'a // 0' divides by zero"),
    ("1e308 * 10", "expression '1e308 * 10' is not a finite number"),
    ("max()", "expression 'max()': max expected at least 1 argument, got 0"),
    ("2 ** 65", "expression '2 ** 65': exponent 65 is outside [-64, 64]"),
])
def test_arithmetic_errors_name_the_expression(text, message):
    with pytest.raises(ExpressionError) as info:
        evaluate(text, {"a": 1})
    assert str(info.value) == message


def test_the_largest_exponent_is_allowed():
    assert evaluate("2 ** 64", {}) == 2 ** 64
    assert evaluate("2 ** -64", {}) == 2.0 ** -64
    with pytest.raises(ExpressionError, match=r"exponent -65 is outside \[-64, 64\]"):
        evaluate("2 ** -65", {})


# -- io.py: what a reader of a file is told --------------------------------------------------------

def _problems(text: str, **kwargs) -> list[str]:
    with pytest.raises(DescriptionError) as info:
        spikemem.loads(text, **kwargs)
    assert info.value.source == "<string>"  # loads names its text so when no file is given
    return info.value.problems


MINIMAL = "schema_version: 1\ndt: 1.0\n"


@pytest.mark.parametrize("line, message", [
    ("name: [1]", "name: must be a string, got a list"),
    ("name: {a: 1}", "name: must be a string, got a mapping"),
    ("populations: {a: 1}", "populations: must be a list, got a mapping"),
    ("populations: x", "populations: must be a list, got the string 'x'"),
    ("seed: true", "seed: must be a number, got bool True"),
    ("seed: ~", "seed: must be a number, got nothing"),
    ("seed: [2]", "seed: must be a number, got a list"),
])
def test_a_wrong_type_names_what_was_found(line, message):
    assert _problems(MINIMAL + line + "\n") == [message]


def test_from_dict_names_its_source():
    with pytest.raises(DescriptionError) as info:
        spikemem.from_dict([1])
    assert info.value.source == "<dict>"
    assert info.value.problems == ["top level must be a mapping, got a list"]


@pytest.mark.parametrize("params, message", [
    ("[1, 2]", "params: must be a mapping of name: value, got a list"),
    ("{a: [1]}", "params.a: must be a number, got a list"),
    ("{a: true}", "params.a: must be a number, got bool True"),
])
def test_params_of_the_wrong_type(params, message):
    assert _problems(MINIMAL + f"params: {params}\n") == [message]


@pytest.mark.parametrize("bad", ['"zz + 1"', "[1]"])
def test_a_bad_param_does_not_stop_the_params_after_it(bad):
    """b and c come after the bad a: they are still computed, so the population sized by c reads."""
    text = MINIMAL + f"params: {{a: {bad}, b: 2, c: b * 2}}\n" \
        "populations: [{name: p, size: c, model: {type: SpikeSource}}]\n"
    problems = _problems(text)
    assert len(problems) == 1 and problems[0].startswith("params.a: ")


def test_an_override_of_a_file_without_params_lists_none():
    assert _problems(MINIMAL, overrides={"n": 3}) == ["--set n: unknown param (declared params: none)"]


def test_an_override_of_an_unknown_param_lists_the_declared_ones():
    assert _problems(MINIMAL + "params: {a: 1, b: 2}\n", overrides={"n": 3}) == \
        ["--set n: unknown param (declared params: a, b)"]


def test_malformed_yaml_names_line_and_column_from_one():
    # the second ':' of 'a: b: c' is the 5th character of line 1
    assert _problems("a: b: c") == ["line 1, column 5: malformed YAML: mapping values are not allowed in "
                                    "this context"]


def test_a_yaml_error_without_a_position_is_still_reported():
    (problem,) = _problems("a: b\x07")  # the reader refuses a control character before parsing
    assert problem.startswith("malformed YAML: unacceptable character #x0007")


@pytest.mark.parametrize("fmt", ["yml", "YAML", "Json"])
def test_an_unknown_format_is_refused(fmt):
    net = spikemem.Network()
    with pytest.raises(ValueError, match=f"fmt must be 'yaml' or 'json', got '{fmt}'"):
        spikemem.dumps(net, fmt)
    with pytest.raises(ValueError, match=f"fmt must be 'yaml' or 'json', got '{fmt}'"):
        spikemem.loads(spikemem.dumps(net), fmt=fmt)


def test_yaml_is_the_default_and_json_files_are_json(tmp_path):
    net = spikemem.Network(name="fmt", dt=0.5)
    assert yaml.safe_load(spikemem.dumps(net)) == spikemem.to_dict(net)
    spikemem.dump(net, tmp_path / "n.json")
    spikemem.dump(net, tmp_path / "n.yaml")
    assert json.loads((tmp_path / "n.json").read_text()) == spikemem.to_dict(net)
    with pytest.raises(json.JSONDecodeError):
        json.loads((tmp_path / "n.yaml").read_text())  # block-style YAML, not JSON
    assert spikemem.load(tmp_path / "n.json") == net == spikemem.load(tmp_path / "n.yaml")


def test_a_file_is_read_as_utf8(tmp_path):
    net = spikemem.Network(name="utf8", description="τ_m = 20 ms, µ = 1")
    path = tmp_path / "n.yaml"
    path.write_bytes(spikemem.dumps(net).encode("utf-8"))
    assert spikemem.load(path).description == "τ_m = 20 ms, µ = 1"


# -- network.py, connectivity.py: weight lists and synapse counts ----------------------------------

def test_a_weight_list_is_checked_on_a_population_of_one():
    net = Network(dt=0.1, populations=[Population("a", 1, SpikeSource([[]])), Population("b", 2, IFCurrExp())],
                  projections=[Projection("ab", "a", "b", AllToAll(), weight=[1.0, 1.0, 1.0])])
    assert net.validate() == ["projections[0].weight: the list has 3 values but the connector makes 2 synapses "
                              "(one weight per synapse, in the connector's order)"]


@pytest.mark.parametrize("n_pre, n_post", [(3, 5), (5, 3), (4, 4)])
@pytest.mark.parametrize("self_connections", [True, False])
def test_all_to_all_synapse_count(n_pre, n_post, self_connections):
    net = Network(dt=1.0, populations=[Population("a", n_pre, SpikeSource([[]] * n_pre)),
                                       Population("b", n_post, IFCurrExp())],
                  projections=[Projection("ab", "a", "b", AllToAll(allow_self_connections=self_connections))])
    by_hand = sum(1 for i in range(n_pre) for j in range(n_post) if self_connections or i != j)
    assert synapse_count(net, net.projections[0]) == by_hand == len(connect(net, net.projections[0]).i)


def test_an_unknown_projection_lists_the_known_ones():
    net = Network(dt=1.0, populations=[Population("a", 1, SpikeSource([[]])), Population("b", 1, IFCurrExp())],
                  projections=[Projection("ab", "a", "b", OneToOne())])
    with pytest.raises(KeyError, match=r"no projection 'ba' \(projections: \['ab'\]\)"):
        net.projection("ba")
    with pytest.raises(KeyError, match=r"no population 'c' \(populations: \['a', 'b'\]\)"):
        net.population("c")


@pytest.mark.parametrize("dependence", [Additive, Multiplicative])
def test_equal_weight_bounds_are_valid(dependence):
    assert dependence(w_min=0.5, w_max=0.5).problems() == []
    assert dependence(w_min=0.5, w_max=0.25).problems() == [("w_max", "must be >= w_min (0.5)")]


# -- connectivity.py: Poisson spikes on the step grid ----------------------------------------------

def test_poisson_at_probability_one_fires_in_every_step_of_its_window():
    """rate * dt = 1 spike per step (2000 Hz at dt = 0.5 ms): every step in [start, start + duration),
    here steps 2..201 (1.0 to 100.5 ms) of 50 neurons: 10,000 draws that must all hit."""
    model = Poisson(rate=2000.0, start=1.0, duration=100.0)
    idx, times = poisson_times(model, 50, 0.5, 0.0, 105.0, np.random.default_rng(0))
    expected = [(k * 0.5, n) for k in range(2, 202) for n in range(50)]
    assert sorted(zip(times.tolist(), idx.tolist())) == expected


def test_poisson_spike_probability_is_rate_times_dt():
    """200 Hz at dt = 0.5 ms: p = 0.1 per step and neuron; 20,000 draws give 2,000 +- 42 (1 sd)."""
    model = Poisson(rate=200.0)
    idx, _ = poisson_times(model, 20, 0.5, 0.0, 500.0, np.random.default_rng(3))
    p, n = 200.0 * 0.5 / 1000.0, 1000 * 20
    assert abs(len(idx) - p * n) < 5 * math.sqrt(n * p * (1 - p))


def test_poisson_segments_cover_their_own_steps_and_equal_one_run():
    model = Poisson(rate=300.0)
    whole = poisson_times(model, 4, 0.5, 0.0, 10.0, np.random.default_rng(7))
    rng = np.random.default_rng(7)
    first = poisson_times(model, 4, 0.5, 0.0, 6.0, rng)
    second = poisson_times(model, 4, 0.5, 6.0, 10.0, rng)
    assert first[1].max() < 6.0 <= second[1].min()
    np.testing.assert_array_equal(np.concatenate([first[1], second[1]]), whole[1])
    np.testing.assert_array_equal(np.concatenate([first[0], second[0]]), whole[0])


# -- node problems: exact texts -----------------------------------------------------------------------

def test_gate_and_initial_state_problems():
    assert LearningGate().problems() == [("population", "must name the population whose spikes open the gate")]
    assert LIF(mem_init=Normal(0.0, -1.0)).problems() == [("mem_init.std", "must be >= 0, got -1.0")]
    assert LIF(mem_init=Uniform(1.0, 0.5)).problems() == [("mem_init.high", "must be >= low (1.0)")]
    assert IFCurrExp(v_init=Normal(-60.0, -2.0)).problems() == [("v_init.std", "must be >= 0, got -2.0")]
    assert LIF(mem_init=[0.0, 0.5]).problems() == [] == IFCurrExp(v_init=Uniform(-70.0, -60.0)).problems()


# -- io.py: the reader's unions --------------------------------------------------------------------

NET = MINIMAL + "populations:\n  - {name: s, size: 1, model: {type: SpikeSource}}\n" \
    "  - {name: c, size: 1, model: {type: IFCurrExp, tau_refrac: 1.0}}\n"


def _projection(fields: str) -> str:
    return NET + f"projections:\n  - {{name: p, pre: s, post: c, {fields}}}\n"


@pytest.mark.parametrize("fields, message", [
    ("connector: [1]", "projections[0].connector: must be one of: one_to_one, all_to_all, fixed_probability, "
                       "from_list; got a list"),
    ("connector: {type: all2all}", "projections[0].connector: unknown type 'all2all' (one of: one_to_one, "
                                   "all_to_all, fixed_probability, from_list)"),
    ("connector: {p: 0.5}", "projections[0].connector: needs a 'type:' (one of: one_to_one, all_to_all, "
                            "fixed_probability, from_list)"),
    ("connector: {type: one_to_one}, weight: ~", "projections[0].weight: must not be empty"),
    ("connector: {type: one_to_one}, weight: [1.0, true]", "projections[0].weight[1]: must be a number, got bool True"),
    ("connector: {type: one_to_one}, synapse: {type: STDP, gate: {population: s}}",
     "projections[0].synapse.gate: needs a 'type:' (one of: LearningGate)"),
])
def test_union_fields_name_what_they_take(fields, message):
    assert _problems(_projection(fields)) == [message]


def test_a_number_list_may_hold_expressions():
    text = _projection("connector: {type: one_to_one}, weight: ['2 * w']").replace("dt: 1.0", "params: {w: 3}\ndt: 1.0")
    assert spikemem.loads(text).projections[0].weight == [6.0]


def test_other_unions_and_lists_of_strings():
    text = NET.replace("model: {type: SpikeSource}", "model: {type: Poisson, duration: {a: 1}}")
    assert _problems(text) == ["populations[0].model.duration: must be one of: float; got a mapping"]
    assert _problems(NET + "probes: [{population: c, variables: [1]}]\n") == \
        ["probes[0].variables[0]: must be a string, got int 1"]


# -- io.py: reading nodes from a file ----------------------------------------------------------------

@pytest.mark.parametrize("text, messages", [
    (NET.replace("{name: s, size: 1, model: {type: SpikeSource}}", "3"),
     ["populations[0]: must be a mapping with the fields of Population, got int 3"]),
    (NET.replace("{name: s, size: 1, model: {type: SpikeSource}}", "{name: s, size: 1}"),
     ["populations[0].model: missing required field"]),
    (NET.replace("size: 1, model: {type: SpikeSource}", "size: 1, colour: red, shape: x, model: {type: SpikeSource}"),
     ["populations[0].colour: unknown field (fields of Population: name, size, model)",
      "populations[0].shape: unknown field (fields of Population: name, size, model)"]),
    (_projection("connector: {type: all_to_all, allow_self_connections: 1}"),
     ["projections[0].connector.allow_self_connections: must be true or false, got 1"]),
    (_projection("connector: {type: one_to_one}, synapse: {type: STDP, timing: 3}"),
     ["projections[0].synapse.timing: must be a mapping with the fields of SpikePair, got int 3"]),
])
def test_node_reading_messages(text, messages):
    assert _problems(text) == messages


def test_a_field_that_cannot_be_read_hides_the_problems_of_its_default():
    """population: 3 cannot be read, so the gate is built with the default '' for it: 'must name the population'
    would be about a value the file never gave. The window's own problem is still reported."""
    text = _projection("connector: {type: one_to_one}, "
                       "synapse: {type: STDP, gate: {type: LearningGate, population: 3, window: -1}}")
    assert _problems(text) == ["projections[0].synapse.gate.population: must be a string, got int 3",
                               "projections[0].synapse.gate.window: must be > 0 ms, got -1.0"]


@pytest.mark.parametrize("weight", ["2nA", "2 nA", "2.5 * 1 nA"])
def test_a_unit_in_a_number_gets_the_units_hint(weight):
    (problem,) = _problems(_projection(f"connector: {{type: one_to_one}}, weight: {weight}"))
    assert problem.startswith(f"projections[0].weight: cannot parse expression '{weight}'")
    assert problem.endswith("; units are fixed by the description (ms, mV, nA, nF, uS, Hz: weights in nA, times "
                            "in ms): write the number alone")
