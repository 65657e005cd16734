"""SpiNNaker export: board profiles, the resource estimate, and sPyNNaker's mapping on a virtual board."""
import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
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


@pytest.mark.parametrize("n_cues, n_bits", [(5, 10), (128, 128)])
def test_estimate_counts_the_synapses_connect_builds_for_ca3(n_cues, n_bits):
    net = spikemem.load(ROOT / "models" / "ca3_cam.yaml", overrides={"n_cues": n_cues, "n_bits": n_bits})
    est = spinnaker.estimate(net, "spin5")
    built = [len(connect(net, proj).i) for proj in net.projections]
    assert [p.synapses for p in est.projections] == built
    assert est.synapses == sum(built)
    # p04 (cue -> cue-content inhibition) is all-to-all between two populations of n_cues neurons without
    # i -> i: the connector drops the diagonal also when pre is not post
    p04 = net.projection("p04_cue_inh_cuecont")
    assert p04.pre != p04.post and p04.connector.allow_self_connections is False
    assert est.projections[net.projections.index(p04)].synapses == n_cues * n_cues - n_cues


def test_estimate_counts_fixed_probability_without_self_pairs_between_populations():
    net = Network(name="fp", dt=1.0, populations=[
        Population("a", 300, SpikeSource()), Population("b", 300, CELL), Population("c", 300, CELL)],
        projections=[Projection("ab", "a", "b", FixedProbability(p=0.5, allow_self_connections=False)),
                     Projection("bc", "b", "c", FixedProbability(p=0.5)),
                     Projection("cc", "c", "c", FixedProbability(p=0.5, allow_self_connections=False))])
    est = spinnaker.estimate(net, "spin5")
    syn = [connect(net, proj) for proj in net.projections]
    assert not np.any(syn[0].i == syn[0].j) and np.any(syn[1].i == syn[1].j)   # the rule the estimate follows
    assert [p.synapses for p in est.projections] == [len(s.i) for s in syn]


def _longest_row(i: np.ndarray, j: np.ndarray, per_core: int) -> int:
    """The most synapses one pre neuron has on one target core, counted pair by pair."""
    rows: dict[tuple[int, int], int] = {}
    for pre, post in zip(i.tolist(), j.tolist()):
        rows[pre, post // per_core] = rows.get((pre, post // per_core), 0) + 1
    return max(rows.values())


def test_sparse_row_bytes_follow_the_longest_row_on_a_core():
    # post 'exc' has 600 neurons: cores hold 0-255, 256-511, 512-599
    net = Network(name="rows", dt=1.0, populations=[
        Population("src", 4, SpikeSource()), Population("exc", 600, CELL)], projections=[
        # pre 0: 3 synapses on core 0 and 1 on core 1; pre 1: 1 on core 2; pre 2 and 3: none
        Projection("lst", "src", "exc", FromList(connections=[[0, 0], [0, 1], [0, 255], [0, 256], [1, 599]])),
        Projection("fp", "exc", "exc", FixedProbability(p=0.1)),
        Projection("a2a", "src", "exc", AllToAll(allow_self_connections=False)),
    ])
    lst, fp, a2a = spinnaker.estimate(net, "spin5").projections
    # each of the 4 pre rows is 3 header words + as many 4-byte words as the longest row on a core (3)
    assert (lst.synapses, lst.bytes_per_core) == (5, 4 * (12 + 4 * 3))
    syn = connect(net, net.projections[1])
    assert fp.bytes_per_core == 600 * (12 + 4 * _longest_row(syn.i, syn.j, 256))
    # all-to-all without self pairs: pre 0-3 each miss one target on core 0 (255 of 256) but none on core 1 (256)
    assert (a2a.synapses, a2a.bytes_per_core) == (4 * 600 - 4, 4 * (12 + 4 * 256))


def _profile(tmp_path, base: str, **changes) -> "os.PathLike[str]":
    """A copy of hardware/spinnaker/BASE.yaml with some top-level fields changed."""
    import yaml
    raw = yaml.safe_load((ROOT / "hardware" / "spinnaker" / f"{base}.yaml").read_text())
    raw.update(changes)
    path = tmp_path / f"{raw['name']}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_sdram_bound_projection_refused_by_name(tmp_path):
    net = Network(name="dense", dt=1.0, populations=[
        Population("src", 100, SpikeSource()), Population("few", 2, SpikeSource()), Population("tgt", 10, CELL)],
        projections=[Projection("small", "few", "tgt", AllToAll()),       # 2 rows of 3 + 10 words: 104 bytes
                     Projection("big", "src", "tgt", AllToAll())])        # 100 rows of 3 + 10 words: 5200 bytes
    need = 2 * (12 + 4 * 10) + 100 * (12 + 4 * 10)
    fits = spinnaker.estimate(net, load_board(_profile(tmp_path, "spin5", name="fits", sdram_usable_bytes=need)))
    assert [p.bytes_per_core for p in fits.projections] == [104, 5200]
    tight = _profile(tmp_path, "spin5", name="tight", sdram_usable_bytes=need - 1)
    with pytest.raises(ResourceError) as err:
        spinnaker.estimate(net, tight)
    msg = str(err.value)
    assert msg.startswith("projections[1] (big): the synaptic matrices into population 'tgt' need")
    assert "board 'tight'" in msg and str(tight) in msg and "use fewer or sparser connections into 'tgt'" in msg


def test_network_needing_more_chips_than_the_board_refused():
    spin3 = load_board("spin3")
    net = Network(name="wide", dt=1.0, populations=[Population("exc", 256 * 63, CELL)])
    assert (spinnaker.estimate(net, spin3).cores, spinnaker.estimate(net, spin3).chips) == (63, 4)
    net.populations[0].size = 256 * 63 + 1                          # 64 cores: one more than spin3 has
    with pytest.raises(ResourceError, match=r"needs 64 application cores \(4 chips at 16 cores a chip\); "
                                            r"board 'spin3' has 63 cores on 4 chips"):
        spinnaker.estimate(net, spin3)
    # a profile built in Python (not read from a file) that promises more cores than its chips hold:
    # the cores fit, the chips do not (70 cores = 5 chips of 16, on a 4-chip board)
    roomy = dataclasses.replace(spin3, name="roomy", app_cores=100)
    net.populations[0].size = 256 * 70
    with pytest.raises(ResourceError, match=r"needs 70 application cores \(5 chips at 16 cores a chip\); "
                                            r"board 'roomy' has 100 cores on 4 chips"):
        spinnaker.estimate(net, roomy)


@pytest.mark.parametrize("changes, problem", [
    ({"app_cores_per_chip": 17},
     "app_cores_per_chip: 17 is more than cores_per_chip - system_cores_per_chip = 16"),
    ({"system_cores_per_chip": 3},
     "app_cores_per_chip: 16 is more than cores_per_chip - system_cores_per_chip = 15"),
    ({"app_cores": 65}, "app_cores: 65 is more than chips x app_cores_per_chip = 64"),
    ({"chips": 3}, "app_cores: 63 is more than chips x app_cores_per_chip = 48"),
])
def test_inconsistent_profile_file_refused(tmp_path, changes, problem):
    path = _profile(tmp_path, "spin3", name="odd", **changes)
    with pytest.raises(DescriptionError) as err:
        load_board(path)
    assert err.value.problems == [problem] and err.value.source == str(path)
    assert load_board(_profile(tmp_path, "spin3", name="even")).app_cores == 63   # the unchanged copy loads


@pytest.mark.parametrize("changes, problem", [
    ({"name": 5}, "name: must be a string, got 5"),
    ({"description": None}, "description: must be a string, got None"),
    ({"sdram_usable_bytes": 0}, "sdram_usable_bytes: must be a positive integer, got 0"),
    ({"max_neurons_per_core": True}, "max_neurons_per_core: must be a positive integer, got True"),
    ({"app_cores": 63.0}, "app_cores: must be a positive integer, got 63.0"),
    ({"timestep_ms": 0}, "timestep_ms: must be a positive number (ms), got 0"),
    ({"neurons_per_core": {}}, "neurons_per_core: must map PyNN cell types to neurons per core, got {}"),
    ({"neurons_per_core": {"IF_curr_exp": -1}},
     "neurons_per_core.IF_curr_exp: must be a positive integer or null, got -1"),
    ({"cores": 18}, "cores: unknown field"),
])
def test_each_board_field_check(tmp_path, changes, problem):
    path = _profile(tmp_path, "spin3", **changes)
    with pytest.raises(DescriptionError) as err:
        load_board(path)
    assert err.value.problems == [problem] and err.value.source == str(path)


def test_board_file_that_is_not_a_profile(tmp_path):
    for text, problem in [("[1, 2]", "the file must hold a mapping of fields"),
                          ("name: [", "malformed YAML: ")]:
        path = tmp_path / "x.yaml"
        path.write_text(text)
        with pytest.raises(DescriptionError) as err:
            load_board(path)
        assert err.value.problems[0].startswith(problem) and err.value.source == str(path)
    with pytest.raises(DescriptionError, match="no such board profile file"):
        load_board(tmp_path / "missing.yaml")


def test_estimate_refuses_another_step_and_an_unknown_cell_type(tmp_path):
    # sPyNNaker's engine check wants 1 ms; a board whose binaries run another step is refused by the profile
    half = _profile(tmp_path, "spin5", name="half", timestep_ms=0.5)
    with pytest.raises(ResourceError, match=r"dt: the network steps 1.0 ms, board 'half' runs 0.5 ms "
                                            r"\(.*half.yaml\): set dt: 0.5"):
        spinnaker.estimate(tiny(), half)
    no_sources = _profile(tmp_path, "spin5", name="nosrc", neurons_per_core={"IF_curr_exp": 256})
    with pytest.raises(ResourceError, match=r"populations\[0\] \(src\): board profile .*nosrc.yaml has no "
                                            r"neurons_per_core.SpikeSourceArray: add it"):
        spinnaker.estimate(tiny(), no_sources)


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


def _tree() -> set[tuple[str, int]]:
    """Every path in the repository with its modification time (ns; 0 for folders), without git, so the
    check holds in any copy of the repository. Left out: git's own folder, the venv, and the caches
    Python and pytest keep (not the product's writing)."""
    skip = {".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis"}
    out = set()
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in skip]
        base = os.path.relpath(folder, ROOT)
        out.update((os.path.normpath(os.path.join(base, d)), 0) for d in dirs)
        out.update((os.path.normpath(os.path.join(base, f)), os.stat(os.path.join(folder, f)).st_mtime_ns)
                   for f in files)
    return out


def test_cli_virtual_mapping_128x128_writes_nothing(tmp_path):
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    before = _tree()
    assert ("README.md", os.stat(ROOT / "README.md").st_mtime_ns) in before  # the snapshot sees the tree
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
    sized = spikemem.load(ROOT / "models" / "ca3_cam.yaml", overrides={"n_cues": 128, "n_bits": 128})
    assert report["synapses"] == sum(len(connect(sized, proj).i) for proj in sized.projections)
    assert list(home.iterdir()) == [] and list(tmp.iterdir()) == []
    assert not (ROOT / "reports").exists()
    assert _tree() - before == set()


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
