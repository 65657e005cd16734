"""Description files: every mistake gives one DescriptionError naming the file and the field.

Each case writes a small YAML file into ``tmp_path`` (a valid base file with one
change) and loads it with :func:`spikemem.load`.
"""
from __future__ import annotations

import json
import textwrap

import pytest

import spikemem
from spikemem import DescriptionError
from spikemem.ir.expr import ExpressionError, evaluate

BASE = textwrap.dedent("""\
    schema_version: 1
    name: tiny
    params:
      n_cues: 3
      n_bits: 4
    dt: 1.0
    populations:
      - {name: src, size: n_cues, model: {type: SpikeSource}}
      - name: cells
        size: n_bits
        model: {type: IFCurrExp, tau_m: 3.0, tau_refrac: 1.0}
      - {name: both, size: n_cues + n_bits, model: {type: LIF, beta: 0.5}}
    projections:
      - {name: p, pre: src, post: cells, connector: {type: all_to_all}, weight: 6.0 * n_bits,
         delay: 1.0}
      - {name: q, pre: cells, post: both, connector: {type: fixed_probability, p: 0.5}, weight: 0.25,
         delay: 2.0, receptor: inhibitory}
    probes:
      - {population: cells, variables: [spikes, v]}
    """)


def write(tmp_path, text, name="model.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def edit(old, new, text=BASE):
    assert old in text, f"test bug: {old!r} not in the base file"
    return text.replace(old, new, 1)


def load_error(path, **kwargs) -> DescriptionError:
    with pytest.raises(DescriptionError) as info:
        spikemem.load(path, **kwargs)
    return info.value


def test_base_file_is_valid(tmp_path):
    net = spikemem.load(write(tmp_path, BASE))
    assert [p.name for p in net.populations] == ["src", "cells", "both"]
    assert net.population("cells").model.tau_m == 3.0
    assert net.projection("q").receptor == "inhibitory"


# (change to the base file, field path that must be named, words the message must contain)
SINGLE_PROBLEMS = {
    "unknown_field": (("tau_m: 3.0", "tau_mm: 3.0"), "populations[1].model.tau_mm",
                      ["unknown field", "tau_m"]),
    "unknown_top_level_field": (("dt: 1.0", "dt: 1.0\ndtt: 2.0"), "dtt", ["unknown field"]),
    "size_is_a_word": (("size: n_bits", 'size: "abc"'), "populations[1].size", ["'abc'"]),
    "size_is_a_list": (("size: n_bits", "size: [1, 2]"), "populations[1].size",
                       ["must be a number", "list"]),
    "size_not_whole": (("size: n_bits", "size: 2.5"), "populations[1].size", ["whole number"]),
    "size_zero": (("size: n_bits", "size: n_bits - 4"), "populations[1].size", [">= 1"]),
    "dt_is_bool": (("dt: 1.0", "dt: true"), "dt", ["must be a number"]),
    "name_not_string": (("name: tiny", "name: [a]"), "name", ["must be a string"]),
    "negative_tau": (("tau_m: 3.0", "tau_m: -1"), "populations[1].model.tau_m", ["must be > 0"]),
    "reset_above_threshold": (("tau_m: 3.0", "tau_m: 3.0, v_reset: -40.0"),
                              "populations[1].model.v_reset", ["below v_thresh"]),
    "refractory_not_whole_steps": (("tau_refrac: 1.0", "tau_refrac: 1.5"),
                                   "populations[1].model.tau_refrac", ["whole number of steps"]),
    "beta_out_of_range": (("beta: 0.5", "beta: 1.5"), "populations[2].model.beta", ["[0, 1]"]),
    "unknown_param_in_size": (("size: n_bits", "size: n_foo * 2"), "populations[1].size",
                              ["unknown param 'n_foo'"]),
    "unknown_param_in_weight": (("weight: 6.0 * n_bits", "weight: 6.0 * n_bitz"),
                                "projections[0].weight", ["unknown param 'n_bitz'"]),
    "unknown_population": (("pre: src", "pre: nowhere"), "projections[0].pre",
                           ["unknown population", "nowhere"]),
    "projection_onto_source": (("post: cells, connector: {type: all_to_all}",
                                "post: src, connector: {type: all_to_all}"),
                               "projections[0].post", ["spike source"]),
    "probability_above_one": (("p: 0.5", "p: 1.5"), "projections[1].connector.p", ["[0, 1]"]),
    "delay_below_one_step": (("delay: 2.0", "delay: 0.5"), "projections[1].delay",
                             ["whole number >= 1"]),
    "negative_weight": (("weight: 0.25", "weight: -0.25"), "projections[1].weight", [">= 0"]),
    "bad_receptor": (("receptor: inhibitory", "receptor: shunting"), "projections[1].receptor",
                     ["must be one of", "'excitatory'"]),
    "bad_integration": (("tau_refrac: 1.0}", "tau_refrac: 1.0, integration: rk4}"),
                        "populations[1].model.integration", ["'exact'", "'fixed_step'", "rk4"]),
    "unknown_neuron_type": (("type: IFCurrExp", "type: Izhikevich"), "populations[1].model",
                            ["unknown type 'Izhikevich'", "IFCurrExp"]),
    "unknown_connector_type": (("type: all_to_all", "type: all2all"), "projections[0].connector",
                               ["unknown type 'all2all'", "one_to_one"]),
    "unrecordable_probe": (("variables: [spikes, v]", "variables: [spikes, mem]"),
                           "probes[0].variables", ["'mem'"]),
    "duplicate_projection": (("name: q", "name: p"), "projections[1].name", ["duplicate", "'p'"]),
    "wrong_schema_version": (("schema_version: 1", "schema_version: 2"), "schema_version",
                             ["must be 1", "2"]),
    "missing_schema_version": (("schema_version: 1\n", ""), "schema_version", ["must be 1"]),
}


@pytest.mark.parametrize("case", list(SINGLE_PROBLEMS))
def test_one_mistake_gives_one_clear_error(tmp_path, case):
    (old, new), field_path, words = SINGLE_PROBLEMS[case]
    path = write(tmp_path, edit(old, new))
    err = load_error(path)
    assert len(err.problems) == 1, err.problems
    assert err.source == str(path)
    text = str(err)
    assert str(path) in text
    assert err.problems[0].startswith(field_path + ":"), err.problems
    for word in words:
        assert word in err.problems[0], (word, err.problems)


def test_duplicate_population_name(tmp_path):
    path = write(tmp_path, edit("name: both", "name: cells"))
    err = load_error(path)
    assert err.problems[0] == "populations[2].name: duplicate population name 'cells'"
    assert str(path) in str(err)


def test_negative_tau_message(tmp_path):
    path = write(tmp_path, edit("tau_m: 3.0", "tau_m: -1"))
    text = str(load_error(path))
    assert str(path) in text
    assert "populations[1].model.tau_m" in text and "must be > 0" in text


def test_unknown_param_message_lists_declared_params(tmp_path):
    path = write(tmp_path, edit("size: n_bits", "size: n_foo * 2"))
    text = str(load_error(path))
    assert "unknown param 'n_foo'" in text
    assert "n_bits" in text and "n_cues" in text  # what the user could have meant


def test_malformed_yaml_names_line(tmp_path):
    lines = BASE.splitlines()
    k = lines.index("  - name: cells")
    lines.insert(k + 1, "   bad: [1, 2")  # an unclosed flow list, wrongly indented
    path = write(tmp_path, "\n".join(lines) + "\n")
    err = load_error(path)
    assert len(err.problems) == 1
    assert str(path) in str(err)
    assert "malformed YAML" in err.problems[0]
    assert f"line {k + 2}" in err.problems[0]  # the inserted line (1-based)


def test_malformed_json_names_line(tmp_path):
    net = spikemem.load(write(tmp_path, BASE))
    text = spikemem.dumps(net, "json").splitlines()
    text[3] = text[3] + ","  # a trailing comma: invalid JSON on line 4 or 5
    path = write(tmp_path, "\n".join(text), name="model.json")
    err = load_error(path)
    assert len(err.problems) == 1
    assert str(path) in str(err) and "malformed JSON" in err.problems[0]
    assert "line 4" in err.problems[0] or "line 5" in err.problems[0]


def test_top_level_not_a_mapping(tmp_path):
    path = write(tmp_path, "- just\n- a list\n")
    err = load_error(path)
    assert len(err.problems) == 1 and "top level must be a mapping" in err.problems[0]
    assert str(path) in str(err)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    err = load_error(path)
    assert str(path) in str(err) and "no such file" in str(err)


def test_override_of_undeclared_param(tmp_path):
    path = write(tmp_path, BASE)
    err = load_error(path, overrides={"nope": 1})
    assert len(err.problems) == 1
    assert str(path) in str(err)
    assert "nope" in err.problems[0] and "unknown param" in err.problems[0]
    assert "n_cues" in err.problems[0]  # lists the declared ones


def test_unknown_param_in_params_block(tmp_path):
    path = write(tmp_path, edit("n_bits: 4", "n_bits: 4\n  n_total: n_bits + n_later\n  n_later: 1"))
    err = load_error(path)
    assert len(err.problems) == 1
    assert err.problems[0].startswith("params.n_total:")
    assert "unknown param 'n_later'" in err.problems[0]  # params see only earlier params


def test_several_problems_reported_at_once(tmp_path):
    text = edit("tau_m: 3.0", "tau_mm: 3.0")
    text = edit("size: n_cues", "size: n_foo", text)
    text = edit("schema_version: 1", "schema_version: 7", text)
    text = edit("receptor: inhibitory", "receptor: shunting", text)
    path = write(tmp_path, text)
    err = load_error(path)
    assert len(err.problems) >= 3, err.problems
    joined = "\n".join(err.problems)
    for field_path in ("schema_version", "populations[0].size", "populations[1].model.tau_mm",
                       "projections[1].receptor"):
        assert field_path in joined
    assert str(err).count(str(path)) >= len(err.problems)  # every line names the file


def test_several_validation_problems_reported_at_once(tmp_path):
    text = edit("tau_m: 3.0", "tau_m: -1.0, cm: 0")
    text = edit("pre: src", "pre: nowhere", text)
    text = edit("delay: 2.0", "delay: 0.5", text)
    path = write(tmp_path, text)
    err = load_error(path)
    assert len(err.problems) >= 4, err.problems
    joined = "\n".join(err.problems)
    for field_path in ("populations[1].model.cm", "populations[1].model.tau_m",
                       "projections[0].pre", "projections[1].delay"):
        assert field_path in joined


# -- params arithmetic ---------------------------------------------------------

def test_params_arithmetic(tmp_path):
    net = spikemem.load(write(tmp_path, BASE))
    assert net.population("src").size == 3
    assert net.population("cells").size == 4
    assert net.population("both").size == 3 + 4
    assert net.projection("p").weight == pytest.approx(24.0)
    assert isinstance(net.population("both").size, int)
    assert net.params == {"n_cues": 3, "n_bits": 4}


def test_overrides_change_sizes_and_values(tmp_path):
    path = write(tmp_path, BASE)
    net = spikemem.load(path, overrides={"n_bits": 10, "n_cues": 5})
    assert net.population("src").size == 5
    assert net.population("cells").size == 10
    assert net.population("both").size == 15
    assert net.projection("p").weight == pytest.approx(60.0)
    assert net.params["n_bits"] == 10
    # the file itself is unchanged
    assert spikemem.load(path).population("cells").size == 4


def test_params_may_use_earlier_params(tmp_path):
    text = edit("n_bits: 4", "n_bits: 4\n  n_total: max(1, (n_cues + n_bits) // 2)")
    text = edit("size: n_cues + n_bits", "size: n_total * 2", text)
    net = spikemem.load(write(tmp_path, text))
    assert net.params["n_total"] == 3
    assert net.population("both").size == 6
    # an override reaches the params computed from it
    net = spikemem.load(write(tmp_path, text), overrides={"n_bits": 9})
    assert net.population("both").size == 12


@pytest.mark.parametrize("bad", ["min()", "int(1, 2)", "10.0 ** 400"])
def test_expression_that_raises_in_python_is_a_description_error(tmp_path, bad):
    """A bad call or an overflow in an expression must be reported like any other mistake
    (one DescriptionError naming the file and the field), not crash the reader with a raw
    TypeError / OverflowError from inside spikemem.ir.expr."""
    path = write(tmp_path, edit("weight: 0.25", f'weight: "{bad}"'))
    err = load_error(path)
    assert len(err.problems) == 1
    assert str(path) in str(err)
    assert err.problems[0].startswith("projections[1].weight:")


# -- the expression language ---------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("n_cues + n_bits", 15), ("6.0 * n_bits", 60.0), ("max(1, n_bits // 3)", 3),
    ("-n_cues ** 2", -25), ("(n_bits % 4) / 2", 1.0), ("abs(-2) + round(2.6) + int(3.9) + min(4, 5)", 12),
])
def test_evaluate_arithmetic(text, value):
    assert evaluate(text, {"n_cues": 5, "n_bits": 10}) == value


@pytest.mark.parametrize("text", [
    "__import__('os')", "__import__('os').system('true')", "n_bits.real", "(1).__class__",
    "open('x')", "eval('1')", "lambda: 1", "[1, 2][0]", "'a'", "True", "1 if n_bits else 2",
    "min(*[1, 2])", "n_bits < 3", "round(x=1)",
])
def test_evaluate_refuses_other_python(text):
    with pytest.raises(ExpressionError):
        evaluate(text, {"n_bits": 10})


def test_evaluate_unknown_name_and_division_by_zero():
    with pytest.raises(ExpressionError, match="unknown param 'n_foo'"):
        evaluate("n_foo * 2", {"n_bits": 1})
    with pytest.raises(ExpressionError, match="divides by zero"):
        evaluate("n_bits / (n_bits - n_bits)", {"n_bits": 1})
    with pytest.raises(ExpressionError, match="cannot parse"):
        evaluate("2 +", {})


def test_import_in_file_is_refused(tmp_path):
    path = write(tmp_path, edit("size: n_bits", "size: __import__('os').getpid()"))
    err = load_error(path)
    assert len(err.problems) == 1 and err.problems[0].startswith("populations[1].size:")
    assert "not allowed" in err.problems[0]


def test_json_file_is_read(tmp_path):
    net = spikemem.load(write(tmp_path, BASE))
    path = write(tmp_path, json.dumps(spikemem.to_dict(net)), name="model.json")
    assert spikemem.load(path) == net
