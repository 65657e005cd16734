"""The PyNN script exporter: a written script runs without spikemem and gives Brian2's spikes.

The NEST tests run the written script in a subprocess with the venv's python
(its bin on PATH, so pyNN.nest finds nest-config) and compare its spikes
event-for-event with the same network on the Brian2 backend.
"""
from __future__ import annotations

import json
import re
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import spikemem
from spikemem.errors import UnsupportedFeature
from spikemem.export.pynn_script import INLINE_LIMIT, write_script
from spikemem.ir.io import loads
from spikemem.ir.network import Network

pytest.importorskip("pyNN")
pytest.importorskip("nest")

# Sources (an array with a spike in the first step, and Poisson), three IFCurrExp populations, every connector kind,
# excitatory and inhibitory, uniform and per-synapse weights, delays of 2-4 ms on a 0.1 ms step.
SMALL = textwrap.dedent("""\
    schema_version: 1
    name: small
    description: a small static network for the export test
    params:
      duration: 60.0
    dt: 0.1
    seed: 3
    populations:
      - name: src
        size: 3
        model: {type: SpikeSource, spike_times: [[1.0, 10.0, 20.5], [2.0, 11.0], [0.0, 5.3]]}
      - {name: noise, size: 8, model: {type: Poisson, rate: 300.0, start: 2.0, duration: 40.0}}
      - name: exc
        size: 3
        model: {type: IFCurrExp, cm: 0.25, tau_m: 10.0, v_rest: -65.0, v_reset: -70.0, v_thresh: -55.0,
                tau_refrac: 2.0, tau_syn_E: 2.0, tau_syn_I: 4.0, i_offset: 0.1, v_init: -64.0,
                integration: exact}
      - name: mix
        size: 6
        model: {type: IFCurrExp, cm: 0.2, tau_m: 8.0, v_thresh: -56.0, tau_refrac: 1.0, tau_syn_E: 1.5,
                integration: exact}
      - name: inh
        size: 4
        model: {type: IFCurrExp, cm: 0.3, tau_m: 12.0, v_thresh: -58.0, tau_refrac: 0.5, integration: exact}
    projections:
      - {name: src_exc, pre: src, post: exc, connector: {type: one_to_one}, weight: 3.0, delay: 2.0}
      - {name: noise_mix, pre: noise, post: mix, connector: {type: fixed_probability, p: 0.5},
         weight: {type: uniform, low: 0.5, high: 1.5}, delay: 2.5}
      - {name: exc_mix, pre: exc, post: mix, connector: {type: all_to_all}, weight: 2.0, delay: 3.0}
      - {name: mix_inh, pre: mix, post: inh, connector: {type: all_to_all}, weight: 0.8, delay: 2.2}
      - {name: inh_mix, pre: inh, post: mix, connector: {type: all_to_all}, weight: 1.5, delay: 4.0,
         receptor: inhibitory}
      - {name: inh_exc, pre: inh, post: exc, connector: {type: fixed_probability, p: 0.7},
         weight: {type: normal, mean: 0.5, std: 0.2}, delay: 3.5, receptor: inhibitory}
      - {name: mix_mix, pre: mix, post: mix, connector: {type: fixed_probability, p: 0.3}, weight: 0.6,
         delay: 3.3}
    probes:
      - {population: src}
      - {population: noise}
      - {population: exc, variables: [spikes, v]}
      - {population: mix}
      - {population: inh}
    """)

# Big enough that every connection list and the Poisson spikes go to the .npz file.
LARGE = textwrap.dedent("""\
    schema_version: 1
    name: large
    dt: 0.1
    seed: 7
    populations:
      - {name: noise, size: 100, model: {type: Poisson, rate: 50.0, start: 0.1}}
      - {name: exc, size: 120, model: {type: IFCurrExp, cm: 0.2, tau_m: 10.0, tau_refrac: 2.0, integration: exact}}
      - {name: inh, size: 30, model: {type: IFCurrExp, cm: 0.2, tau_m: 10.0, tau_refrac: 1.0, integration: exact}}
    projections:
      - {name: drive, pre: noise, post: exc, connector: {type: fixed_probability, p: 0.2},
         weight: {type: uniform, low: 0.5, high: 1.5}, delay: 2.0}
      - {name: exc_inh, pre: exc, post: inh, connector: {type: fixed_probability, p: 0.3}, weight: 0.8,
         delay: 2.0}
      - {name: inh_exc, pre: inh, post: exc, connector: {type: all_to_all}, weight: 1.0, delay: 3.0,
         receptor: inhibitory}
    probes:
      - {population: exc}
      - {population: inh}
    """)

GATED = textwrap.dedent("""\
    schema_version: 1
    name: gated
    dt: 1.0
    populations:
      - {name: pre, size: 2, model: {type: SpikeSource, spike_times: [[1.0], [2.0]]}}
      - {name: learn, size: 1, model: {type: SpikeSource, spike_times: [[0.0]]}}
      - {name: post, size: 2, model: {type: IFCurrExp, tau_refrac: 1.0, integration: exact}}
    projections:
      - {name: drive, pre: pre, post: post, connector: {type: one_to_one}, weight: 3.0, delay: 2.0}
      - name: plastic
        pre: pre
        post: post
        connector: {type: all_to_all}
        weight: 0.0
        delay: 2.0
        synapse:
          type: STDP
          timing: {type: SpikePair, tau_plus: 3.0, tau_minus: 3.0, A_plus: 1.0, A_minus: 1.0}
          weights: {type: Additive, w_min: 0.0, w_max: 6.0}
          gate: {type: LearningGate, population: learn, window: 7.0}
    probes:
      - {population: post}
    """)


def _on_spinnaker_grid(text: str, integration: str) -> str:
    """``SMALL`` on a 1 ms step (all its times and delays whole ms) with the given integration."""
    text = text.replace("dt: 0.1", "dt: 1.0").replace("20.5", "20.0").replace("5.3", "5.0")
    text = text.replace("delay: 2.5", "delay: 2.0").replace("delay: 2.2", "delay: 2.0")
    text = text.replace("delay: 3.3", "delay: 3.0").replace("delay: 3.5", "delay: 3.0")
    text = text.replace("tau_refrac: 0.5", "tau_refrac: 1.0")
    return text.replace("integration: exact", f"integration: {integration}")


# runs a script as `python SCRIPT --spikes OUT` would, with spikemem made unimportable
_STANDALONE = ("import runpy, sys; sys.modules['spikemem'] = None; sys.argv = sys.argv[1:]; "
               "runpy.run_path(sys.argv[0], run_name='__main__')")


def run_script(script: Path) -> dict[str, dict[str, list]]:
    """Run ``script`` with the venv's python in its own folder, without spikemem; return its --spikes JSON."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    out = script.with_name("spikes.json")
    proc = subprocess.run([sys.executable, "-c", _STANDALONE, script.name, "--spikes", out.name],
                          cwd=script.parent, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"the script failed:\n{proc.stderr[-3000:]}"
    return json.loads(out.read_text())


def script_events(spikes: dict[str, list], dt: float) -> set[tuple[int, int]]:
    return {(int(round(t / dt)), int(i)) for i, t in zip(spikes["indices"], spikes["times"])}


def assert_same_spikes_as_brian2(net: Network, spikes: dict[str, dict[str, list]], duration: float) -> None:
    reference = spikemem.compile(net, backend="brian2").run(duration)
    assert set(spikes) == set(reference.spikes)
    for name, trains in reference.spikes.items():
        want, got = trains.events(net.dt), script_events(spikes[name], net.dt)
        assert got == want, (f"{name}: {len(want)} Brian2 events, {len(got)} NEST events; "
                             f"only Brian2 {sorted(want - got)[:5]}, only NEST {sorted(got - want)[:5]}")


@pytest.mark.parametrize("dt", [0.1, 1.0])
def test_nest_script_gives_brian2_spikes_event_for_event(tmp_path, dt):
    net = loads(SMALL if dt == 0.1 else _on_spinnaker_grid(SMALL, "exact"))
    script = write_script(net, tmp_path / "small.py")
    text = script.read_text()
    assert "import pyNN.nest as sim" in text
    assert "weight=-1.5" in text  # inhibitory weights are negative for PyNN's current-based synapses
    # the description's delays are in PyNN's meaning: NEST takes the same 4.0 ms;
    # the spike at 0 ms needs a step of lead, so inputs are played two steps late
    assert "delay=4.0" in text
    assert f"LEAD = {dt}" in text and f"TIME_SHIFT = {2 * dt}" in text
    spikes = run_script(script)
    for name in ("exc", "mix", "inh", "noise"):
        assert len(spikes[name]["times"]) >= 3, f"{name} hardly fires: the comparison would prove little"
    assert_same_spikes_as_brian2(net, spikes, 60.0)


def test_large_connection_lists_go_to_the_npz_file_and_the_script_runs(tmp_path):
    net = loads(LARGE)
    script = write_script(net, tmp_path / "large.py", duration=50.0)
    data = np.load(tmp_path / "large.npz")
    assert set(data) == {"noise.index", "noise.times", "drive.connections", "drive.weights",
                         "exc_inh.connections", "inh_exc.connections"}
    assert data["inh_exc.connections"].shape == (30 * 120, 2)
    drive = spikemem.ir.connectivity.connect(net, net.projection("drive"))
    np.testing.assert_array_equal(data["drive.connections"], np.stack([drive.i, drive.j], axis=1))
    np.testing.assert_array_equal(data["drive.weights"], drive.w)
    text = script.read_text()
    assert len(text) < 10_000 and 'DATA["inh_exc.connections"]' in text
    assert "LEAD = 0.0" in text and "TIME_SHIFT = 0.1" in text  # no input in the first step: no lead
    spikes = run_script(script)
    assert len(spikes["exc"]["times"]) > 20
    assert_same_spikes_as_brian2(net, spikes, 50.0)


def test_short_lists_are_inline_and_long_ones_in_the_npz_file(tmp_path):
    net = loads(SMALL)
    text = write_script(net, tmp_path / "small.py").read_text()
    assert "sim.FromListConnector([(0, 0), (1, 1), (2, 2)])" in text  # src_exc, one_to_one
    assert 'column_names=["weight"]' in text                         # noise_mix, per-synapse weights
    noise = sum(len(t) for t in spikemem.ir.connectivity.poisson_times(
        net.population("noise").model, 8, 0.1, 0.0, 60.0,
        spikemem.ir.connectivity.rng_for(net, "population:noise"))[1:])
    assert noise > INLINE_LIMIT  # so the Poisson spikes, and only they, go to the file
    assert set(np.load(tmp_path / "small.npz")) == {"noise.index", "noise.times"}
    assert 'spike_lists("noise", 8)' in text


def test_nest_plays_every_source_spike_on_its_own_step(tmp_path):
    # PyNN plays source spikes min_delay early; float rounding (4.4 - 0.1 = 4.300000000000001)
    # made NEST play some of them a step late before the script played them EARLY ms early
    times = [[round((j + 10 * m) * 0.1, 9) for m in range(100)] for j in range(1, 11)]
    net = loads(textwrap.dedent(f"""\
        schema_version: 1
        dt: 0.1
        populations:
          - {{name: grid, size: 10, model: {{type: SpikeSource, spike_times: {times}}}}}
        probes:
          - {{population: grid}}
        """))
    spikes = run_script(write_script(net, tmp_path / "grid.py", duration=101.0))
    want = {(j + 10 * m, j - 1) for j in range(1, 11) for m in range(100)}
    assert script_events(spikes["grid"], 0.1) == want


def test_gated_stdp_is_refused_naming_the_projection(tmp_path):
    with pytest.raises(UnsupportedFeature) as info:
        write_script(loads(GATED), tmp_path / "gated.py", duration=20.0)
    assert info.value.node == "projections[1] (plastic).synapse.gate"
    assert "LearningGate" in str(info.value) and "host" in str(info.value)
    assert not (tmp_path / "gated.py").exists()


def test_spinnaker_script_is_valid_python_with_the_descriptions_timing(tmp_path):
    net = loads(_on_spinnaker_grid(SMALL, "fixed_step").replace("dt: 1.0", "dt: 1.0\ndelay_convention: spinnaker"))
    text = write_script(net, tmp_path / "board.py", simulator="spiNNaker").read_text()
    compile(text, "board.py", "exec")
    assert "import pyNN.spiNNaker as sim" in text
    assert "sim.setup(timestep=1.0)" in text
    assert "TIME_SHIFT = 0.0" in text
    # sPyNNaker delays are the description's (SpiNNaker convention) ...
    delays = sorted({p.delay for p in net.projections})
    assert sorted(set(map(float, re.findall(r"delay=([0-9.]+)", text)))) == delays
    # ... and one step longer for the same description in PyNN's meaning (same timing)
    pynn = write_script(loads(_on_spinnaker_grid(SMALL, "fixed_step")), tmp_path / "pynn.py",
                        simulator="spiNNaker").read_text()
    assert sorted(set(map(float, re.findall(r"delay=([0-9.]+)", pynn)))) == [d + 1.0 for d in delays]
    assert "weight=1.5" in text and "weight=-1.5" not in text  # and it wants inhibitory weights positive
    assert "[[1.0, 10.0, 20.0], [2.0, 11.0], [0.0, 5.0]]" in text  # source times unshifted


def test_spinnaker_refuses_exact_integration_unless_approximated(tmp_path):
    net = loads(_on_spinnaker_grid(SMALL, "exact"))
    with pytest.raises(UnsupportedFeature, match="integration"):
        write_script(net, tmp_path / "board.py", simulator="spiNNaker")
    text = write_script(net, tmp_path / "board.py", simulator="spiNNaker", approximations=("integration",)).read_text()
    compile(text, "board.py", "exec")
    assert "Approximations accepted when exporting: 'integration'" in text


def test_duration_comes_from_the_params_or_must_be_given(tmp_path):
    net = loads(SMALL)
    assert "DURATION = 60.0" in write_script(net, tmp_path / "a.py").read_text()
    assert "DURATION = 25.0" in write_script(net, tmp_path / "b.py", duration=25.0).read_text()
    del net.params["duration"]
    with pytest.raises(ValueError, match="duration"):
        write_script(net, tmp_path / "c.py")
    with pytest.raises(ValueError, match="whole number of steps"):
        write_script(net, tmp_path / "c.py", duration=10.05)


def test_unknown_simulator_is_refused(tmp_path):
    with pytest.raises(ValueError, match="'nest', 'spiNNaker'"):
        write_script(loads(SMALL), tmp_path / "x.py", simulator="loihi")


def test_the_same_network_gives_the_same_files(tmp_path):
    net = loads(LARGE)
    first, second = tmp_path / "one" / "net.py", tmp_path / "two" / "net.py"
    for path in (first, second):
        path.parent.mkdir()
        write_script(net, path, duration=20.0)
    assert first.read_bytes() == second.read_bytes()
    assert first.with_suffix(".npz").read_bytes() == second.with_suffix(".npz").read_bytes()


def test_ungated_stdp_on_nest_is_refused_naming_the_rule(tmp_path):
    ungated = "\n".join(line for line in GATED.splitlines() if "LearningGate" not in line)
    with pytest.raises(UnsupportedFeature) as info:
        write_script(loads(ungated), tmp_path / "pairs.py", duration=20.0)
    assert info.value.node == "projections[1] (plastic).synapse"
    assert "an STDP rule on pyNN.nest" in str(info.value) and "meet in one step" in str(info.value)
    assert not (tmp_path / "pairs.py").exists()
