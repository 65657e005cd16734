"""Brian2's cpp_standalone target: the compiled program simulates what the numpy target does, runs once
per simulation, and is compiled once per network structure (new stimuli and values only rerun it).

Two C++ compiles in all (each 30 s to 2 minutes on 2 cores): the small network below, shared by the
tests through a module cache, and the CA3 memory of the command-line test.
"""
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import spikemem
from spikemem.backends import brian2_standalone
from spikemem.errors import SpikememError
from spikemem.ir.network import Network, Population, Probe, Projection
from spikemem.ir.neurons import IFCurrExp, SpikeSource
from spikemem.ir.synapses import AllToAll, Uniform

DURATION = 20.0  # ms
ROOT = Path(__file__).resolve().parents[1]


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


def other_inputs(net: Network) -> Network:
    """``net`` with what a run argument sets changed: the stimulus (another number of spikes), the seed
    (other drawn weights), weights, per-neuron initial values, neuron parameters, the integration scheme."""
    net.seed = 11
    net.population("src").model.spike_times = [[0.5, 3.0, 7.5, 9.0], [], [2.5, 14.0]]
    exc, inh = net.population("exc").model, net.population("inh").model
    exc.v_init, exc.tau_m, exc.i_offset, exc.tau_refrac = [-65.0, -60.0, -58.0, -55.0], 12.0, 0.35, 1.0
    inh.integration, inh.v_thresh = "exact", -52.0
    net.projection("in").weight = Uniform(3.0, 7.0)
    net.projection("ie").weight = 6.5
    return net


def assert_equals_numpy(net: Network, result) -> None:
    reference = spikemem.compile(net, backend="brian2", target="numpy").run(DURATION)
    assert len(reference.spikes["exc"].times) > 0 and len(reference.spikes["inh"].times) > 0
    for pop in ("src", "exc", "inh"):
        assert result.spikes[pop].events(net.dt) == reference.spikes[pop].events(net.dt), pop
    for pop, variables in (("exc", ("v", "isyn_exc", "isyn_inh")), ("inh", ("v",))):
        for var in variables:
            got, want = result.state[pop][var], reference.state[pop][var]
            assert got.shape == want.shape == (round(DURATION / net.dt), net.population(pop).size)
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-9, err_msg=f"{pop}.{var}")


def entries(cache: Path) -> list[Path]:
    return sorted(p for p in cache.iterdir() if (p / brian2_standalone.MANIFEST).is_file())


def compiles(entry: Path) -> int:
    return len((entry / brian2_standalone.BUILD_LOG).read_text().splitlines())


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("standalone_cache")


@pytest.fixture(scope="module")
def first_run(cache):
    """The small network, compiled into the module's cache and run once."""
    sim = spikemem.compile(small(), backend="brian2", target="cpp_standalone", standalone_dir=str(cache))
    return sim, sim.run(DURATION)


@pytest.mark.slow  # compiles and runs one C++ program (30 s - 3 minutes on 2 cores)
def test_cpp_standalone_equals_numpy_and_runs_once(first_run):
    sim, result = first_run
    assert_equals_numpy(small(), result)
    with pytest.raises(SpikememError, match=r"builds one program per simulation and runs it once: "
                                            r"call run\(\) a single time with the whole duration"):
        sim.run(DURATION)


@pytest.mark.slow
def test_new_inputs_rerun_the_compiled_program(first_run, cache):
    (entry,) = entries(cache)
    binary = entry / "main"
    built_at = binary.stat().st_mtime_ns
    net = other_inputs(small())
    sim = spikemem.compile(net, backend="brian2", target="cpp_standalone", standalone_dir=str(cache))
    result = sim.run(DURATION)

    assert sim.standalone_build == "reused"
    assert entries(cache) == [entry] and compiles(entry) == 1 and binary.stat().st_mtime_ns == built_at
    assert_equals_numpy(net, result)
    # the run arguments took effect: this run differs from the first one
    assert result.spikes["src"].events(net.dt) != first_run[1].spikes["src"].events(net.dt)
    assert not np.array_equal(result.state["exc"]["v"], first_run[1].state["exc"]["v"])


class _WouldCompile(Exception):
    pass


@pytest.mark.slow
def test_a_structure_change_builds_another_program(first_run, cache, monkeypatch):
    keys = []

    def store(cache_dir, key, compile_into):
        keys.append(key)
        raise _WouldCompile(key)

    monkeypatch.setattr(brian2_standalone, "store", store)
    net = small()
    net.projection("ei").delay = 1.0
    with pytest.raises(_WouldCompile):
        spikemem.compile(net, backend="brian2", target="cpp_standalone", standalone_dir=str(cache)).run(DURATION)
    (entry,) = entries(cache)
    assert keys and keys[0] != entry.name
    # the unchanged structure still finds its program
    sim = spikemem.compile(small(), backend="brian2", target="cpp_standalone", standalone_dir=str(cache))
    sim.run(DURATION)
    assert sim.standalone_build == "reused" and len(keys) == 1


def key(net: Network, duration: float = DURATION) -> str:
    sim = spikemem.compile(net, backend="brian2", target="cpp_standalone", standalone_dir="/nonexistent")
    return sim.standalone_plan(duration)[0].key


def _probe_v(net):
    net.probes[2] = Probe("inh", ["spikes", "v", "isyn_exc"])


def _size(net):
    net.populations[2] = replace(net.populations[2], size=3)


def _self_connections(net):
    net.projection("in").connector = AllToAll(allow_self_connections=False)


def _receptor(net):
    net.projection("ei").receptor = "inhibitory"


def _delay(net):
    net.projection("ie").delay = 2.0


def _many_spikes(net):  # more spikes than the source's table holds
    net.population("src").model.spike_times[0] = [0.1 * k for k in range(150)]


@pytest.mark.parametrize("change", [_probe_v, _size, _self_connections, _receptor, _delay, _many_spikes])
def test_the_key_holds_what_run_arguments_cannot_set(change):
    net = small()
    change(net)
    assert key(net) != key(small())


def test_the_key_leaves_out_what_run_arguments_set():
    assert key(other_inputs(small())) == key(small())
    assert key(small(), DURATION + 1.0) != key(small())  # the duration is compiled in


def test_a_cached_run_needs_no_brian2(tmp_path):
    """Planning a run (the key and every run argument) imports neither brian2 nor a compiler."""
    code = ("import sys; sys.path.insert(0, 'tests'); import spikemem; from test_cpp_standalone import small; "
            "sim = spikemem.compile(small(), backend='brian2', target='cpp_standalone', standalone_dir='x'); "
            "plan, _ = sim.standalone_plan(20.0); print(len(plan.run_args), 'brian2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    n_args, imported = out.stdout.split()
    assert int(n_args) > 20 and imported == "False"


def test_the_default_cache_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SPIKEMEM_CACHE", str(tmp_path / "mine"))
    assert brian2_standalone.default_cache_dir() == tmp_path / "mine" / "brian2_standalone"
    monkeypatch.delenv("SPIKEMEM_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert brian2_standalone.default_cache_dir() == tmp_path / "xdg" / "spikemem" / "brian2_standalone"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert brian2_standalone.default_cache_dir() == tmp_path / "home" / ".cache" / "spikemem" / "brian2_standalone"


def cam_json(*args: str, env: dict) -> dict:
    out = subprocess.run([sys.executable, "-m", "spikemem.cli", "cam", "--experiment", "random", "--n-cues", "5",
                          "--n-bits", "10", "--ops", "30", "--json", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.slow  # compiles the CA3 memory once (1-2 minutes on 2 cores), then reruns it
def test_cli_cam_twice_compiles_once_and_equals_numpy(tmp_path):
    env = {**os.environ, "SPIKEMEM_CACHE": str(tmp_path)}
    cache = tmp_path / "brian2_standalone"
    first = cam_json("--seed", "1", "--target", "cpp_standalone", env=env)
    (entry,) = entries(cache)
    built_at = (entry / "main").stat().st_mtime_ns
    second = cam_json("--seed", "2", "--target", "cpp_standalone", env=env)

    assert entries(cache) == [entry] and compiles(entry) == 1 and (entry / "main").stat().st_mtime_ns == built_at
    assert first["results"] != second["results"]  # two different sequences
    for seed, got in (("1", first), ("2", second)):
        want = cam_json("--seed", seed, "--target", "numpy", env=env)
        assert got["results"] == want["results"] and got["correct"] == want["correct"] == 30
