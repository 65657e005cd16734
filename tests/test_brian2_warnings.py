"""A simulation that is compiled and dropped before it runs (a notebook cell run again)
leaves Brian2 quiet about spikemem's own objects, while Brian2 still warns about the
user's objects that never ran."""
import gc
import logging

import numpy as np
import pytest

import spikemem
from conftest import ROOT

brian2 = pytest.importorskip("brian2")

UNUSED = "never included in a network"


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def brian2_log():
    """Every Brian2 log message of WARNING and above (Brian2's loggers do not propagate)."""
    handler = _Records()
    logger = logging.getLogger("brian2")
    logger.addHandler(handler)
    gc.collect()            # objects of earlier tests warn now, not inside the test
    handler.messages.clear()
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def _ca3():
    # the CA3 memory has every kind of object the backend makes: pop_, proj_, gate_, spikes_, state_
    return spikemem.load(ROOT / "models" / "ca3_cam.yaml")


def _unused(messages: list[str]) -> list[str]:
    return [m.splitlines()[0] for m in messages if UNUSED in m]


def test_compiled_and_dropped_twice_prints_nothing(brian2_log):
    net = _ca3()
    for _ in range(2):
        sim = spikemem.compile(net, backend="brian2", target="numpy")
        assert len(sim._network.objects) > 20   # there were objects to warn about
        del sim
        gc.collect()
    assert _unused(brian2_log) == []


def test_compiled_run_and_dropped_prints_nothing(brian2_log):
    sim = spikemem.compile(_ca3(), backend="brian2", target="numpy")
    sim.run(5.0)
    del sim
    gc.collect()
    assert _unused(brian2_log) == []


def test_users_own_unrun_group_still_warns(brian2_log):
    sim = spikemem.compile(_ca3(), backend="brian2", target="numpy")
    group = brian2.NeuronGroup(3, "dv/dt = -v / (10*ms) : 1", name="users_own_group")
    del sim, group
    gc.collect()
    unused = _unused(brian2_log)
    assert len(unused) == 1 and "'users_own_group'" in unused[0], unused


def test_a_marked_network_still_runs_and_records_its_input():
    """The mark is the one Network.before_run sets itself, so the first run accepts it."""
    times = [[1.0, 4.0], [], [2.0]]
    net = spikemem.Network(dt=1.0, seed=0,
                           populations=[spikemem.Population("src", 3, spikemem.SpikeSource(times))],
                           probes=[spikemem.Probe("src")])
    result = spikemem.compile(net, backend="brian2", target="numpy").run(6.0)
    trains = result.spikes["src"]
    got = sorted(zip(trains.indices.tolist(), trains.times.tolist()))
    assert got == sorted((i, t) for i, ts in enumerate(times) for t in ts)
    np.testing.assert_array_equal(trains.times, np.sort(trains.times))
