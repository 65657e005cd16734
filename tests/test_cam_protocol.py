"""The CAM protocol against the reference: ideal outputs, stimulus encoding, op checks."""
import json

import pytest

from spikemem.errors import DescriptionError
from spikemem.tasks import cam

from conftest import REFERENCE

ALL = json.loads((REFERENCE / "experiments.json").read_text())["experiments"]


@pytest.mark.parametrize("name", sorted(ALL))
def test_symbolic_memory_matches_reference_expectations(name):
    exp = ALL[name]
    ops = cam.parse_ops(exp["ops"], exp["n_cues"], exp["n_bits"], name)
    memory = cam.SymbolicCAM(exp["n_cues"], exp["n_bits"])
    for op, raw in zip(ops, exp["ops"]):
        out = memory.apply(op)
        assert list(out.cues) == raw["expected"]["output_cues"]
        assert list(out.content) == raw["expected"]["output_content"]


@pytest.mark.parametrize("name", sorted(ALL))
def test_stimulus_equals_reference_input_arrays(name):
    exp = ALL[name]
    ops = cam.parse_ops(exp["ops"], exp["n_cues"], exp["n_bits"], name)
    cue, cont, learn = cam.stimulus(ops, exp["n_cues"], exp["n_bits"])
    assert [sorted(x) for x in cue] == [sorted(float(t) for t in x) for x in exp["input_spikes"]["cue"]]
    assert [sorted(x) for x in cont] == [sorted(float(t) for t in x) for x in exp["input_spikes"]["cont"]]
    assert learn == [float(op.t) for op in ops if op.op == "learn"]


def test_bad_ops_are_reported_all_at_once_with_their_field():
    raw = [{"t_ms": 0, "op": "learn", "cue": 9, "content": [1, 0]},
           {"t_ms": 3, "op": "recall_cue", "cue": 0},
           {"t_ms": 20, "op": "forget", "cue": 0},
           {"t_ms": 30, "op": "recall_content", "content": [0, 0, 0]}]
    with pytest.raises(DescriptionError) as err:
        cam.parse_ops(raw, 5, 3, "ops.json")
    text = str(err.value)
    assert "ops.json" in text
    for needle in ("ops[0].cue", "ops[0].content", "ops[2].op", "ops[3].content: needs at least one"):
        assert needle in text, needle


def test_spacing_below_the_minimum_is_refused():
    raw = [{"t_ms": 0, "op": "learn", "cue": 0, "content": [1, 0, 0]},
           {"t_ms": 6, "op": "recall_cue", "cue": 0}]
    with pytest.raises(DescriptionError, match=r"ops\[1\].t_ms: 6 is 6 ms after a learn"):
        cam.parse_ops(raw, 2, 3, "x")


def test_random_ops_cover_the_hard_cases():
    ops = cam.random_ops(5, 10, n_ops=100, seed=0)
    assert [op.t for op in ops] == list(range(0, 800, 8))
    learned, overwrites, never_learned, sizes = set(), 0, 0, []
    for op in ops:
        if op.op == "learn":
            overwrites += op.cue in learned
            learned.add(op.cue)
        elif op.op == "recall_cue":
            never_learned += op.cue not in learned
        else:
            sizes.append(sum(op.content))
    assert overwrites >= 5 and min(sizes) == 1 and max(sizes) >= 4
    assert cam.random_ops(5, 10, 100, seed=0) == ops  # deterministic
    large = cam.random_ops(24, 24, n_ops=100, seed=0)
    assert any(op.op == "recall_cue" and not any(o.cue == op.cue for o in large[:k] if o.op == "learn")
               for k, op in enumerate(large))


def test_decode_reads_outputs_at_the_documented_latencies():
    ops = [cam.Op(0, "learn", 1, (1, 1, 0)), cam.Op(10, "recall_cue", 1),
           cam.Op(20, "recall_content", None, (0, 1, 0))]
    out_cue = {5: [1], 7: [1], 15: [1], 26: [0, 1], 27: [2]}
    out_cont = {5: [0, 1], 6: [2], 7: [0, 1], 16: [0, 1], 25: [1]}
    got = cam.decode(ops, out_cue, out_cont, 3)
    assert got[0] == cam.Output((1,), (1, 1, 0))  # the t+6 forget echo is not read
    assert got[1] == cam.Output((1,), (1, 1, 0))
    assert got[2] == cam.Output((0, 1), (0, 1, 0))  # a late spike at t+7 is not a recall
