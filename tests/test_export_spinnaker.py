"""SpiNNaker export: board profiles, the resource estimate, and sPyNNaker's mapping on a virtual board."""
import json
import os
import subprocess
import sys

import pytest

import spikemem
from conftest import ROOT
from spikemem import cli
from spikemem.errors import DescriptionError, ResourceError, UnsupportedFeature
from spikemem.export import spinnaker
from spikemem.hardware_profiles import BOARDS, load_board
from spikemem.ir.connectivity import connect
from spikemem.ir.network import Network, Population, Projection
from spikemem.ir.neurons import LIF, IFCurrExp, Poisson, SpikeSource
from spikemem.ir.synapses import STDP, AllToAll, FixedProbability, FromList, LearningGate

CELL = IFCurrExp(integration="fixed_step")


def tiny() -> Network:
    """5 cores by hand: src 300 (one SpikeSourceArray core), exc 600 (3 x 256), inh 10 (1)."""
    return Network(name="tiny", dt=1.0, populations=[
        Population("src", 300, SpikeSource(spike_times=[[1.0]] + [[]] * 299)),
        Population("exc", 600, CELL),
        Population("inh", 10, CELL),
    ], projections=[
        Projection("in", "src", "exc", FromList(connections=[[0, 0], [0, 300], [1, 599]])),
        Projection("e_i", "exc", "inh", AllToAll()),                                  # 600 x 10
        Projection("i_i", "inh", "inh", AllToAll(allow_self_connections=False), receptor="inhibitory"),  # 10 x 9
        Projection("e_e", "exc", "exc", FixedProbability(p=0.05)),
    ])


def test_board_profiles_load():
    assert BOARDS == ("spin3", "spin5")
    spin3, spin5 = load_board("spin3"), load_board(ROOT / "hardware" / "spinnaker" / "spin5.yaml")
    assert (spin3.chips, spin3.app_cores, spin3.spinnaker_version) == (4, 63, 3)
    assert (spin5.chips, spin5.app_cores, spin5.spinnaker_version) == (48, 759, 5)
    for b in (spin3, spin5):
        assert (b.cores_per_chip, b.system_cores_per_chip, b.app_cores_per_chip) == (18, 2, 16)
        assert b.neurons_per_core == {"IF_curr_exp": 256, "SpikeSourceArray": None}
        assert (b.timestep_ms, b.sdram_per_chip_mb, b.max_neurons_per_core) == (1.0, 128, 65535)


def test_bad_board_file_and_unknown_name(tmp_path):
    text = (ROOT / "hardware" / "spinnaker" / "spin5.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("chips: 48", "chips: -1").replace("timestep_ms: 1.0", "timestep_ms: fast"))
    with pytest.raises(DescriptionError) as err:
        load_board(bad)
    assert str(bad) in str(err.value)
    assert err.value.problems == ["chips: must be a positive integer, got -1",
                                  "timestep_ms: must be a positive number (ms), got 'fast'"]
    with pytest.raises(ValueError, match="unknown board 'spin4': the available boards are spin3, spin5"):
        load_board("spin4")


def test_estimate_matches_hand_count():
    net = tiny()
    est = spinnaker.estimate(net, "spin5")
    assert [(p.name, p.cell_type, p.cores) for p in est.populations] == \
        [("src", "SpikeSourceArray", 1), ("exc", "IF_curr_exp", 3), ("inh", "IF_curr_exp", 1)]
    n_ee = len(connect(net, net.projections[3]).i)
    assert 0.04 * 600 * 600 < n_ee < 0.06 * 600 * 600
    assert [p.synapses for p in est.projections] == [3, 6000, 90, n_ee]
    assert [p.synapses for p in est.projections[:3]] == [len(connect(net, p).i) for p in net.projections[:3]]
    # all-to-all rows: one per pre neuron, 10 synapses (one 4-byte word each) + 3 header words
    assert est.projections[1].bytes_per_core == 600 * (12 + 4 * 10)
    assert (est.neurons, est.synapses, est.cores, est.chips) == (910, 6093 + n_ee, 5, 1)
    assert spinnaker.report_json(est) == {
        "model": "tiny", "board": "spin5", "populations": 3, "neurons": 910, "synapses": 6093 + n_ee,
        "cores_estimated": 5, "cores_mapped": None, "chips": None, "mapped": None}


def test_too_big_fails_before_mapping(monkeypatch):
    def no_mapping(*args, **kwargs):
        raise AssertionError("sPyNNaker was started")
    monkeypatch.setattr(spinnaker.subprocess, "run", no_mapping)
    net = tiny()
    del net.projections[3]                             # keep connect() from drawing 20000 x 20000 numbers
    net.populations[1].size = 20_000                   # 79 cores: more than spin3's 63
    with pytest.raises(ResourceError, match=r"needs 81 application cores .* board 'spin3' has 63 cores on 4 "
                                            r"chips.*'exc' \(20000 neurons, 79 cores\)"):
        spinnaker.map_virtual(net, "spin3")
    assert spinnaker.estimate(net, "spin5").chips == 6  # fits the 48-chip board
    net.populations[0].size = 70_000                   # a SpikeSourceArray is never split
    with pytest.raises(ResourceError, match=r"populations\[0\] \(src\).* at most 65535 neurons"):
        spinnaker.map_virtual(net, "spin5")


def test_lif_refused_and_exact_integration_maps_with_a_note():
    net = tiny()
    net.populations.append(Population("readout", 4, LIF()))
    with pytest.raises(UnsupportedFeature, match=r"populations\[3\] \(readout\): LIF is not supported by "
                                                 r"backend 'pynn.spinnaker'"):
        spinnaker.estimate(net, "spin5")
    exact = tiny()
    assert spinnaker.scheme_note(exact) is None
    exact.populations[2].model = IFCurrExp(integration="exact")
    assert spinnaker.estimate(exact, "spin5").cores == 5  # mapping does not integrate
    assert "1 population(s) (inh) integrate exactly" in spinnaker.scheme_note(exact)


def test_rule_spinnaker_lacks_refused():
    net = tiny()
    net.populations.append(Population("noise", 1, Poisson(rate=5.0)))
    net.projections[1].synapse = STDP(gate=LearningGate(population="noise"))  # episodes not known in advance
    with pytest.raises(UnsupportedFeature, match=r"projections\[1\] \(e_i\)\.synapse\.gate: a LearningGate "
                                                 r"driven by Poisson population 'noise'"):
        spinnaker.estimate(net, "spin5")


def test_virtual_mapping_ca3_5x10():
    net = spikemem.load(ROOT / "models" / "ca3_cam.yaml")
    report = spinnaker.map_virtual(net, "spin5")
    assert report.error is None and report.mapped
    assert report.cores == report.estimate.cores == 13 and report.chips == 1
    assert report.cores_by_vertex == {p.name: 1 for p in net.populations}
    assert not any("executable" in w for w in report.warnings)


def test_mapping_failure_is_reported(tmp_path):
    # a profile that promises spin3 one core more than sPyNNaker finds on it: the estimate passes, placement fails
    liar = tmp_path / "liar3.yaml"
    liar.write_text((ROOT / "hardware" / "spinnaker" / "spin3.yaml").read_text().replace("app_cores: 63",
                                                                                         "app_cores: 64"))
    net = Network(name="many", dt=1.0, populations=[Population(f"p{k}", 2, CELL) for k in range(64)])
    report = spinnaker.map_virtual(net, liar)
    assert report.estimate.cores == 64 and not report.mapped and (report.cores, report.chips) == (0, 0)
    assert report.error.startswith("PacmanPlaceException:") and "p63" in report.error
    assert spinnaker.report_json(report.estimate, report)["mapped"] is False


def _porcelain() -> set[str]:
    out = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=ROOT, capture_output=True, text=True)
    return set(out.stdout.splitlines())


def test_cli_virtual_mapping_128x128_writes_nothing(tmp_path):
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    before = _porcelain()
    env = dict(os.environ, HOME=str(home), TMPDIR=str(tmp))
    out = subprocess.run([sys.executable, "-m", "spikemem.cli", "export", "ca3_cam", "--to", "spinnaker",
                          "--virtual", "--json", "--set", "n_cues=128", "--set", "n_bits=128"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "integrate exactly; sPyNNaker runs IF_curr_exp with the fixed step" in out.stderr
    assert "executable" not in out.stderr
    report = json.loads(out.stdout)
    assert list(report) == ["model", "board", "populations", "neurons", "synapses", "cores_estimated",
                            "cores_mapped", "chips", "mapped"]
    assert {k: report[k] for k in ("model", "board", "populations", "neurons", "cores_estimated", "mapped")} == \
        {"model": "ca3_cam", "board": "spin5", "populations": 13, "neurons": 5 * 128 + 5 * 128 + 128 + 2,
         "cores_estimated": 13, "mapped": True}
    assert report["cores_mapped"] == 13 and report["chips"] == 1
    assert report["synapses"] > 128 * 127                    # p04 alone is all-to-all without self connections
    assert list(home.iterdir()) == [] and list(tmp.iterdir()) == []
    assert not (ROOT / "reports").exists()
    assert _porcelain() - before == set()


def test_cli_pynn_script_dispatch(tmp_path, monkeypatch, capsys):
    from spikemem.export import pynn_script
    calls = []
    monkeypatch.setattr(pynn_script, "write_script", lambda net, path, **kw: calls.append((net, path, kw)) or path)
    out = tmp_path / "ca3.py"
    assert cli.main(["export", "ca3_cam", "--to", "pynn-script", str(out), "--simulator", "spiNNaker",
                     "--duration", "20", "--set", "n_cues=3", "--approximate", "integration"]) == 0
    (net, path, kw), = calls
    assert (net.name, net.params["n_cues"], path) == ("ca3_cam", 3, str(out))
    assert kw == {"simulator": "spiNNaker", "duration": 20.0, "approximations": ("integration",)}
    assert cli.main(["export", "ca3_cam", "--to", "pynn-script"]) == 2
    assert cli.main(["export", "no_such_model", "--to", "spinnaker"]) == 2
    assert "available: ca3_cam, ca3_cam_published" in capsys.readouterr().err
