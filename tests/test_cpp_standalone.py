"""Brian2's cpp_standalone target: the compiled program simulates what the numpy target does, and runs once."""
import numpy as np
import pytest

import spikemem
from spikemem.errors import SpikememError
from spikemem.ir.network import Network, Population, Probe, Projection
from spikemem.ir.neurons import IFCurrExp, SpikeSource
from spikemem.ir.synapses import AllToAll, Uniform

DURATION = 20.0  # ms


def small() -> Network:
    """3 sources -> 4 exact IFCurrExp -> 2 fixed-step IFCurrExp -| back: both schemes, a refractory period,
    drawn weights, three delays, inhibition (6 and 14 spikes on the numpy target)."""
    return Network(name="small", dt=0.1, seed=3, populations=[
        Population("src", 3, SpikeSource(spike_times=[[1.0, 6.0, 11.0], [2.0, 12.5], [4.0, 4.5, 15.0]])),
        Population("exc", 4, IFCurrExp(tau_refrac=2.0, i_offset=0.2)),
        Population("inh", 2, IFCurrExp(integration="fixed_step", tau_syn_I=3.0)),
    ], projections=[
        Projection("in", "src", "exc", AllToAll(), weight=Uniform(2.0, 6.0), delay=1.0),
        Projection("ei", "exc", "inh", AllToAll(), weight=5.0, delay=0.5),
        Projection("ie", "inh", "exc", AllToAll(), weight=4.0, delay=1.5, receptor="inhibitory"),
    ], probes=[Probe("src"), Probe("exc", ["spikes", "v", "isyn_exc", "isyn_inh"]), Probe("inh", ["spikes", "v"])])


@pytest.mark.slow  # compiles and runs one C++ program (1-3 minutes on 2 cores)
def test_cpp_standalone_equals_numpy_and_runs_once(tmp_path):
    net = small()
    reference = spikemem.compile(net, backend="brian2", target="numpy").run(DURATION)
    sim = spikemem.compile(net, backend="brian2", target="cpp_standalone", standalone_dir=str(tmp_path / "cpp"))
    result = sim.run(DURATION)

    assert len(reference.spikes["exc"].times) > 0 and len(reference.spikes["inh"].times) > 0
    for pop in ("src", "exc", "inh"):
        assert result.spikes[pop].events(net.dt) == reference.spikes[pop].events(net.dt), pop
    for pop, variables in (("exc", ("v", "isyn_exc", "isyn_inh")), ("inh", ("v",))):
        for var in variables:
            got, want = result.state[pop][var], reference.state[pop][var]
            assert got.shape == want.shape == (round(DURATION / net.dt), net.population(pop).size)
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-9, err_msg=f"{pop}.{var}")

    with pytest.raises(SpikememError, match=r"builds one program per simulation and runs it once: "
                                            r"call run\(\) a single time with the whole duration"):
        sim.run(DURATION)
