"""The fast paths of validation give the answers of the slow ones.

``type_problems`` first checks that a network already has the types the reader produces
(``io._conforms``) and reads it back in full only when not; ``value_problems`` looks for two
spikes in one step with one vectorised pass (``network._shares_a_step``). Both are checked here
against the full reader and against a per-neuron Python count.
"""
import random

import numpy as np
import pytest

from spikemem.ir import io
from spikemem.ir.network import _shares_a_step
from spikemem.ir.synapses import Normal
from spikemem.tasks import cam


def ca3(variant: str = "default"):
    ops = cam.random_ops(5, 10, n_ops=20, seed=0)
    return cam.build_network(ops, 5, 10, variant)


def full_read(net, monkeypatch) -> list[str]:
    """type_problems with the fast path switched off: the network read back as a file."""
    with monkeypatch.context() as m:
        m.setattr(io, "_conforms", lambda tp, value: False)
        return io.type_problems(net)


@pytest.mark.parametrize("variant", ["default", "published"])
def test_a_well_typed_network_takes_the_fast_path(variant, monkeypatch):
    net = ca3(variant)
    hints, fields = io._schema(type(net))
    assert all(io._conforms(hints[f], getattr(net, f)) for f in fields if f != "params")
    assert io.type_problems(net) == full_read(net, monkeypatch) == []


def _np_float_weight(net):
    net.projections[0].weight = np.float64(6.0)


def _np_int_size(net):
    net.populations[0].size = np.int64(5)


def _bool_size(net):
    net.populations[1].size = True


def _unit_string(net):
    net.projections[2].weight = "6 nA"


def _expression(net):
    net.projections[2].delay = "1 + 1"


def _tuple_times(net):
    net.population("INcue").model.spike_times = [(1.0, 2.0)] + net.population("INcue").model.spike_times[1:]


def _array_times(net):
    net.population("INcont").model.spike_times[0] = np.array([1.0, 9.0])


def _bad_literal(net):
    net.projections[0].receptor = "excitatory "


def _none_weight(net):
    net.projections[0].weight = None


def _distribution_field(net):
    net.projections[0].weight = Normal(mean="big", std=1.0)


def _gate_as_dict(net):
    plastic = next(p for p in net.projections if p.synapse.kind == "STDP")
    plastic.synapse.gate = {"population": "INlearn"}


@pytest.mark.parametrize("change", [_np_float_weight, _np_int_size, _bool_size, _unit_string, _expression,
                                    _tuple_times, _array_times, _bad_literal, _none_weight,
                                    _distribution_field, _gate_as_dict])
def test_anything_unusual_is_read_in_full(change, monkeypatch):
    net = ca3()
    change(net)
    hints, fields = io._schema(type(net))
    assert not all(io._conforms(hints[f], getattr(net, f)) for f in fields if f != "params")
    assert io.type_problems(net) == full_read(net, monkeypatch)


def test_one_step_check_equals_a_per_neuron_count():
    rng = random.Random(1)
    for _ in range(3000):
        times = [[round(rng.uniform(0, 3), 2) for _ in range(rng.randint(0, 4))] for _ in range(rng.randint(0, 5))]
        if rng.random() < 0.5:
            for t in times:
                t.sort()
        dt = rng.choice([0.1, 0.25, 1.0])
        want = any(len({round(t / dt) for t in ts}) != len(ts) for ts in times)
        assert _shares_a_step(times, dt) == want, (times, dt)
