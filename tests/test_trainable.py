"""Trainable projections (the IR field) and the surrogate spike functions of the torch backend."""
import math

import pytest

from spikemem import ir
from spikemem.errors import DescriptionError

torch = pytest.importorskip("torch")


def _net(synapse) -> ir.Network:
    return ir.Network(
        populations=[ir.Population("inp", 2, ir.SpikeSource(spike_times=[[1.0], []])),
                     ir.Population("out", 2, ir.LIF())],
        projections=[ir.Projection("w", "inp", "out", ir.AllToAll(), weight=0.5, synapse=synapse,
                                   trainable=True)])


def test_trainable_round_trips_through_a_file():
    net = _net(ir.Static())
    back = ir.loads(ir.dumps(net))
    assert back.projections[0].trainable is True
    static = ir.Network(populations=net.populations, projections=[ir.Projection("w", "inp", "out", ir.AllToAll())])
    assert ir.loads(ir.dumps(static)).projections[0].trainable is False


def test_a_plastic_projection_cannot_be_trainable():
    assert ir.validate(_net(ir.STDP())) == [
        "projections[0].trainable: a STDP projection learns by its own rule and cannot also be trained "
        "by gradients; set trainable: false or make it static"]
    with pytest.raises(DescriptionError, match=r"projections\[0\]\.trainable"):
        _net(ir.STDP()).check()


@pytest.mark.parametrize("name", ["atan", "fast_sigmoid"])
def test_surrogate_spikes_are_exact_and_carry_the_surrogate_gradient(name):
    from spikemem.torchsim.surrogate import spike_function

    x = torch.tensor([-0.5, -0.1, 0.0, 0.2, 1.0], dtype=torch.float64, requires_grad=True)
    hard = x >= 0  # an IFCurrExp test (>=): the forward value is this test, also at x == 0
    z = spike_function(name)(x, hard)
    assert z.tolist() == [0.0, 0.0, 1.0, 1.0, 1.0]
    z.sum().backward()
    if name == "atan":  # snnTorch's ATan, alpha = 2: (alpha / 2) / (1 + (pi alpha x / 2)^2)
        want = [1 / (1 + (math.pi * v) ** 2) for v in x.tolist()]
    else:  # FastSigmoid, slope = 25: 1 / (slope |x| + 1)^2
        want = [1 / (25 * abs(v) + 1) ** 2 for v in x.tolist()]
    assert x.grad.tolist() == pytest.approx(want, rel=1e-12)


def test_an_unknown_surrogate_is_named():
    from spikemem.torchsim.surrogate import spike_function

    with pytest.raises(ValueError, match="unknown name 'arctan'.*atan, fast_sigmoid"):
        spike_function("arctan")


def test_lif_step_with_a_spike_function_gives_the_plain_spikes():
    from spikemem.torchsim import neurons as tn
    from spikemem.torchsim.surrogate import spike_function

    params = tn.lif_params(ir.LIF(beta=0.9, threshold=1.0))
    mem = torch.tensor([[0.5, 1.2, 3.0]], dtype=torch.float64, requires_grad=True)
    state = tn.lif_init(mem)
    plain, _ = tn.lif_step(None, tn.lif_init(mem.detach()), params)
    z, _ = tn.lif_step(None, state, params, spike_function("atan"))
    assert z.tolist() == plain.to(torch.float64).tolist() == [[0.0, 0.0, 1.0]]  # new mem 0.45, 0.08, 1.7
    z.sum().backward()
    # mem_new = 0.9 mem - reset (no gradient through the reset): dz/dmem = 0.9 * atan'(mem_new - 1)
    new = [0.9 * 0.5, 0.9 * 1.2 - 1.0, 0.9 * 3.0 - 1.0]  # 1.2 and 3.0 were above threshold: reset
    assert mem.grad[0].tolist() == pytest.approx([0.9 / (1 + (math.pi * (m - 1)) ** 2) for m in new], rel=1e-12)
