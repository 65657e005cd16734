"""The spikemem command, run as a user runs it (a subprocess), or in-process where a run is quick."""
import importlib.metadata
import json
import math
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import spikemem as sm
from conftest import ROOT
from spikemem import cli
from spikemem.tasks import cam


def spikemem(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spikemem.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def test_cam_functional_json():
    out = spikemem("cam", "--experiment", "functional", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert {k: report[k] for k in ("experiment", "variant", "backend", "n_cues", "n_bits", "ops", "correct")} == \
        {"experiment": "functional", "variant": "default", "backend": "brian2", "n_cues": 5, "n_bits": 10,
         "ops": 9, "correct": 9}
    assert report["mismatches"] == [] and report["sim_ms"] == 98.0 and report["wall_s"] > 0
    assert [r["got"] for r in report["results"]][3:6] == [[1, 1, 0, 0, 0, 0, 0, 0, 1, 1], [3, 4], [0, 3]]


def test_cam_on_nest_gives_the_same_report():
    reports = []
    for backend in ("brian2", "pynn.nest"):
        out = spikemem("cam", "--experiment", "random", "--n-cues", "6", "--n-bits", "8", "--ops", "25",
                       "--backend", backend, "--json")
        assert out.returncode == 0, out.stderr
        reports.append(json.loads(out.stdout))
    brian2, nest = reports
    assert nest["backend"] == "pynn.nest" and nest["correct"] == 25 and set(nest) == set(brian2)
    assert nest["results"] == brian2["results"]


def test_cam_published_on_nest_is_refused_by_name():
    out = spikemem("cam", "--variant", "published", "--backend", "pynn.nest")
    assert out.returncode == 2
    assert "populations[2] (CA3cueCueRecall): IFCurrExp with integration 'fixed_step'" in out.stderr
    assert "not supported by backend 'pynn.nest'" in out.stderr and "--approximate integration" in out.stderr


def test_cam_random_published_reports_mismatches():
    out = spikemem("cam", "--experiment", "random", "--variant", "published", "--n-cues", "5", "--n-bits", "10",
                   "--ops", "60", "--seed", "2", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["variant"] == "published" and report["ops"] == 60
    assert report["correct"] == 60 - len(report["mismatches"]) < 60
    first = report["mismatches"][0]
    assert set(first) == {"index", "t_ms", "op", "expected", "got"} and first["expected"] != first["got"]


def test_cam_ops_file_and_plot(tmp_path):
    ops = {"n_cues": 3, "n_bits": 4, "ops": [
        {"t_ms": 0, "op": "learn", "cue": 2, "content": [0, 1, 1, 0]},
        {"t_ms": 10, "op": "recall_cue", "cue": 2},
        {"t_ms": 20, "op": "recall_content", "content": [0, 0, 1, 0]}]}
    path = tmp_path / "ops.json"
    path.write_text(json.dumps(ops))
    png = tmp_path / "raster.png"
    out = spikemem("cam", "--ops-file", str(path), "--json", "--plot", str(png))
    report = json.loads(out.stdout)
    assert [r["got"] for r in report["results"]] == [[0, 1, 1, 0], [0, 1, 1, 0], [2]]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cam_table_output():
    out = spikemem("cam", "--experiment", "applicability")
    assert out.returncode == 0
    assert "20/20 operations right" in out.stdout
    assert "recall_content  {1,2,4}" in out.stdout


def test_bad_ops_file_is_a_clear_error(tmp_path):
    path = tmp_path / "ops.json"
    path.write_text(json.dumps([{"t_ms": 0, "op": "learn", "cue": 7, "content": [1, 0]}]))
    out = spikemem("cam", "--ops-file", str(path), "--n-cues", "2", "--n-bits", "2")
    assert out.returncode == 2
    assert str(path) in out.stderr and "ops[0].cue" in out.stderr


TINY_MODEL = """
schema_version: 1
params: {n: 3, rate: 100}
dt: 1.0
populations:
  - {name: src, size: n, model: {type: SpikeSource, spike_times: [[1.0], [2.0, 5.0], []]}}
  - {name: cells, size: n, model: {type: IFCurrExp, tau_refrac: 1.0, v_rest: -65, v_reset: -65, v_thresh: -60,
     v_init: -65, cm: 0.25, tau_m: 10.0, tau_syn_E: 1.0, integration: exact}}
projections:
  - {name: drive, pre: src, post: cells, connector: {type: one_to_one}, weight: 5.0, delay: 2.0}
probes: [{population: src}, {population: cells}]
"""


def tiny_model(tmp_path: Path, text: str = TINY_MODEL) -> Path:
    model = tmp_path / "m.yaml"
    model.write_text(text)
    return model


def test_run_any_model_with_set(tmp_path):
    model = tiny_model(tmp_path)
    out = spikemem("run", str(model), "--duration", "20", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["spike_counts"] == {"src": 3, "cells": 3}
    # a delay of d steps (PyNN convention): a spike in step t makes the target fire at step t + d + 1
    assert report["spikes"]["cells"]["times_ms"] == [t + 2.0 + 1.0 for t in (1.0, 2.0, 5.0)]
    bad = spikemem("run", str(model), "--duration", "20", "--set", "m=4")
    assert bad.returncode == 2 and "--set m: unknown param" in bad.stderr


def _err(capsys) -> str:
    return " ".join(capsys.readouterr().err.split())  # argparse wraps long messages


@pytest.mark.parametrize("argv, message", [
    (["cam", "--n-cues", "0"], "argument --n-cues: must be an integer >= 1, got 0"),
    (["cam", "--experiment", "random", "--n-bits", "0"], "argument --n-bits: must be an integer >= 1, got 0"),
    (["cam", "--experiment", "random", "--ops", "-2"], "argument --ops: must be an integer >= 1, got -2"),
    (["cam", "--experiment", "random", "--n-cues", "-3"], "argument --n-cues: must be an integer >= 1, got -3"),
    (["cam", "--experiment", "random", "--n-cues", "two"], "argument --n-cues: must be an integer >= 1, got 'two'"),
    (["cam", "--experiment", "random", "--seed", "-1"], "argument --seed: must be an integer >= 0, got -1"),
    (["cam", "--experiment", "random", "--spacing", "3"],
     f"argument --spacing: must be an integer >= {max(cam.MIN_SPACING_MS.values())} (ms: the longest operation), "
     f"got 3"),
    (["cam", "--backend", "pynn.nest", "--threads", "0"], "argument --threads: must be an integer >= 1, got 0"),
    (["cam", "--backend", "pynn.nest", "--approximate", "speed"],
     "argument --approximate: invalid choice: 'speed' (choose from 'integration', 'min_delay', 'nest_stdp')"),
    (["cam", "--backend", "nest"], "argument --backend: invalid choice: 'nest'"),
    (["run", "ca3_cam", "--duration", "-5"], "argument --duration: must be a finite number > 0, got -5"),
    (["run", "ca3_cam", "--duration", "0"], "argument --duration: must be a finite number > 0, got 0"),
    (["export", "ca3_cam", "--to", "pynn-script", "x.py", "--duration", "-1"],
     "argument --duration: must be a finite number > 0, got -1"),
])
def test_bad_flag_values_are_refused_when_parsed(argv, message, capsys, monkeypatch):
    monkeypatch.setattr(cam, "run_ops", lambda *a, **k: pytest.fail("ran despite a bad flag"))
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    assert message in _err(capsys)


@pytest.mark.parametrize("argv, message", [
    # the paper experiments have a fixed size and sequence: a sequence flag would be ignored
    (["cam", "--n-cues", "3"], "--n-cues 3: --experiment functional is a paper experiment, with a fixed size"),
    (["cam", "--experiment", "stress", "--n-bits", "12", "--ops", "5"], "--n-bits 12, --ops 5: --experiment stress"),
    (["cam", "--experiment", "applicability", "--seed", "3"], "--seed 3: --experiment applicability"),
    (["cam", "--ops-file", "ops.json", "--spacing", "9"], "--spacing 9: --ops-file runs the file's own operations"),
    (["cam", "--ops-file", "ops.json", "--experiment", "random"], "--experiment random and --ops-file ops.json: give one"),
    # engine flags the backend does not take are refused by name, not ignored
    (["cam", "--backend", "pynn.nest", "--target", "numpy"],
     "--backend pynn.nest takes no --target (it takes: --threads, --approximate); --target is for: brian2"),
    (["cam", "--threads", "2"], "--backend brian2 takes no --threads (it takes: --target); --threads is for: pynn.nest"),
    (["cam", "--approximate", "integration"],
     "--backend brian2 takes no --approximate (it takes: --target); --approximate is for: pynn.nest, pynn.brian2, "
     "pynn.spinnaker"),
    (["cam", "--backend", "pynn.brian2", "--threads", "2"], "--backend pynn.brian2 takes no --threads"),
    (["run", "ca3_cam", "--duration", "10", "--backend", "pynn.nest", "--target", "cython"],
     "--backend pynn.nest takes no --target"),
    (["run", "ca3_cam", "--duration", "2.5"], "--duration 2.5: must be a whole number of the model's steps (dt = 1 ms)"),
    (["export", "ca3_cam", "--to", "pynn-script", "x.py", "--virtual", "--board", "spin3"],
     "--board spin3, --virtual: flags of --to spinnaker only"),
    (["export", "ca3_cam", "--to", "spinnaker", "--simulator", "nest"], "--simulator nest: flags of --to pynn-script"),
])
def test_flags_the_run_would_ignore_are_refused(argv, message, capsys, monkeypatch):
    monkeypatch.setattr(cam, "run_ops", lambda *a, **k: pytest.fail("ran despite a refused flag"))
    monkeypatch.setattr(sm, "compile", lambda *a, **k: pytest.fail("compiled despite a refused flag"))
    assert cli.main(argv) == 2
    assert message in _err(capsys)


def test_help_shows_every_default_and_version(capsys):
    helps = {}
    for command in ("cam", "run", "export"):
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        helps[command] = " ".join(capsys.readouterr().out.split())
    for text in ("--experiment {functional,stress,applicability,random} a paper experiment, or a random sequence "
                 "(default: functional)", "(default: default)", "the engine (default: brian2)",
                 "(default: numpy)", "NEST threads, an integer >= 1 (default: 1)", "(default: none)",
                 "only; default: 5, or the ops file's)", "only; default: 10, or the ops file's)", "(default: 100)",
                 "integer >= 0 (default: 0)", "(default: 8)", "(default: the model's)"):
        assert text in helps["cam"], text
    assert "--duration MS simulated time (ms), > 0 and a whole number of the model's steps" in helps["run"]
    assert "(default: spin5)" in helps["export"] and "(default: nest)" in helps["export"]
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"spikemem {importlib.metadata.version('spikemem')}\n"


def test_run_resolves_a_model_name_and_notes_empty_sources(capsys):
    assert cli.main(["run", "ca3_cam", "--duration", "3"]) == 0
    captured = capsys.readouterr()
    net = sm.load(ROOT / "models" / "ca3_cam.yaml")
    empty = [p.name for p in net.populations if type(p.model).__name__ == "SpikeSource"]
    assert empty  # the protocol fills them
    assert f"SpikeSource populations {', '.join(empty)} have no spike times in ca3_cam" in captured.err
    assert captured.out.startswith(f"{net.name}: 3 ms on brian2")


def test_run_table_rows(tmp_path, capsys):
    assert cli.main(["run", str(tiny_model(tmp_path)), "--duration", "20"]) == 0
    captured = capsys.readouterr()
    rows = [line.split() for line in captured.out.splitlines()[2:]]
    # src: 3 spikes from 3 neurons in 20 ms = 50 Hz; cells fire once per input spike
    assert rows == [["src", "3", "3", f"{3 / 3 / 0.020:.2f}"], ["cells", "3", "3", f"{3 / 3 / 0.020:.2f}"]]
    assert captured.err == ""  # src has spikes: no note


PLASTIC_MODEL = TINY_MODEL.replace("probes: [{population: src}, {population: cells}]", """\
  - {name: learn, pre: src, post: cells, connector: {type: from_list, connections: [[0, 1], [2, 0]]}, weight: [0.5, 0.25],
     delay: 1.0, synapse: {type: STDP, weights: {type: Additive, w_max: 1.0},
     timing: {tau_plus: 5.0, tau_minus: 5.0, A_plus: 0.1, A_minus: 0.1}}}
probes: [{population: src}, {population: cells, variables: [spikes, v]}]
""")


def test_run_json_has_state_and_weights(tmp_path, capsys):
    model = tiny_model(tmp_path, PLASTIC_MODEL)
    assert cli.main(["run", str(model), "--duration", "20", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    reference = sm.compile(sm.load(model), backend="brian2").run(20.0)
    v = np.array(report["state"]["cells"]["v"])
    assert v.shape == (20, 3) and list(report["state"]) == ["cells"]
    np.testing.assert_array_equal(v, reference.state["cells"]["v"])
    assert v[0].tolist() == [-65.0] * 3  # no input arrives in the first step
    w = report["weights"]["learn"]
    assert [[x is None for x in row] for row in w] == [[True, False, True], [True, True, True], [False, True, True]]
    expected = reference.weights["learn"]
    assert [w[0][1], w[2][0]] == [expected[0, 1], expected[2, 0]] and expected[0, 1] != 0.5  # it learned
    assert report["options"] == {"target": "numpy"} and report["dt_ms"] == 1.0


class _Clock:
    """A perf_counter that the test moves by hand (no timed assertions)."""
    def __init__(self):
        self.now = 1000.0

    def perf_counter(self) -> float:
        return self.now


def test_wall_time_covers_the_whole_command(tmp_path, capsys, monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(cli, "time", types.SimpleNamespace(perf_counter=clock.perf_counter))
    real_load = sm.load

    def slow_load(*args, **kwargs):
        clock.now += 100.0  # loading "takes" 100 s, before any simulation starts
        return real_load(*args, **kwargs)

    monkeypatch.setattr(sm, "load", slow_load)
    assert cli.main(["run", str(tiny_model(tmp_path)), "--duration", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["wall_s"] == 100.0
    real_random = cam.random_ops

    def slow_random(*args, **kwargs):
        clock.now += 50.0
        return real_random(*args, **kwargs)

    monkeypatch.setattr(cam, "random_ops", slow_random)
    assert cli.main(["cam", "--experiment", "random", "--n-cues", "2", "--n-bits", "2", "--ops", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["wall_s"] == 50.0


def test_json_into_a_closed_pipe_ends_quietly(tmp_path):
    # 3 state variables x 3 neurons x 3000 steps: far more than a pipe holds, so the write meets the closed end
    model = tiny_model(tmp_path, TINY_MODEL.replace("{population: cells}", "{population: cells, variables: "
                                                                            "[spikes, v, isyn_exc, isyn_inh]}"))
    proc = subprocess.Popen([sys.executable, "-m", "spikemem.cli", "run", str(model), "--duration", "3000", "--json"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.read(10) == b'{"model": '
    proc.stdout.close()  # as `| head -c 10` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=600) == 141
    assert err == ""


def test_integration_is_reported_from_the_built_network(capsys):
    schemes = {}
    for extra in ([], ["--integration", "fixed_step"]):
        assert cli.main(["cam", "--experiment", "random", "--n-cues", "2", "--n-bits", "2", "--ops", "2", "--json",
                         *extra]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["correct"] == 2
        schemes[tuple(extra)] = report["integration"]
    net = sm.load(ROOT / "models" / "ca3_cam.yaml")
    model_schemes = sorted({p.model.integration for p in net.populations if hasattr(p.model, "integration")})
    assert schemes == {(): model_schemes, ("--integration", "fixed_step"): ["fixed_step"]}
    assert model_schemes == ["exact"]  # so the flag really changed every neuron


@pytest.mark.parametrize("flags, target", [([], "numpy"), (["--target", "cython"], "cython")])
def test_target_reaches_brian2(flags, target, capsys, monkeypatch):
    brian2 = pytest.importorskip("brian2")
    used = []

    def spy(network, *args, **kwargs):
        used.append(brian2.prefs.codegen.target)  # what Brian2 would generate code for; skip the compile
        for obj in network.objects:  # as a run would: else Brian2 warns that they never ran
            for part in (obj, *obj.contained_objects):
                part._network = network.id

    monkeypatch.setattr(brian2.Network, "run", spy)
    assert cli.main(["cam", "--experiment", "random", "--n-cues", "2", "--n-bits", "2", "--ops", "1", "--json",
                     *flags]) == 0
    assert used == [target]
    assert json.loads(capsys.readouterr().out)["target"] == target


def test_threads_reach_nest(capsys):
    pytest.importorskip("pyNN.nest")
    assert cli.main(["cam", "--backend", "pynn.nest", "--threads", "2", "--experiment", "random", "--n-cues", "2",
                     "--n-bits", "2", "--ops", "2", "--json"]) == 0
    import nest
    assert nest.GetKernelStatus("local_num_threads") == 2
    report = json.loads(capsys.readouterr().out.splitlines()[-1])  # after NEST's banner, in-process
    assert report["threads"] == 2 and report["correct"] == 2 and report["target"] is None


def test_cam_published_on_nest_runs_under_named_approximations(capsys):
    pytest.importorskip("pyNN.nest")
    assert cli.main(["cam", "--variant", "published", "--backend", "pynn.nest", "--approximate", "integration",
                     "--approximate", "min_delay", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert report["approximations"] == ["integration", "min_delay"] and report["ops"] == 9
    # the same run as tests/test_pynn_backend.py scores in Python: every learn right, recalls broken
    assert report["by_op"] == {"learn": "4/4", "recall_cue": "0/2", "recall_content": "0/3"} and report["correct"] == 4


def test_export_spinnaker_table_rows(capsys):
    from spikemem.ir.connectivity import connect

    assert cli.main(["export", "ca3_cam", "--to", "spinnaker"]) == 0
    lines = capsys.readouterr().out.splitlines()
    net = sm.load(ROOT / "models" / "ca3_cam.yaml")
    rows = {line.split()[0]: line.split() for line in lines if line.strip()}
    for pop in net.populations:
        cell = "SpikeSourceArray" if type(pop.model).__name__ == "SpikeSource" else "IF_curr_exp"
        name, cell_type, neurons, _per_core, cores = rows[pop.name]
        assert (cell_type, int(neurons), int(cores)) == (cell, pop.size, 1), pop.name  # < 255 neurons: one core
    synapses = {proj.name: len(connect(net, proj).i) for proj in net.projections}
    for proj in net.projections:
        assert int(rows[proj.name[:28]][-1]) == synapses[proj.name], proj.name
    n_neurons = sum(p.size for p in net.populations)
    assert f"{len(net.populations)} populations, {n_neurons} neurons, {sum(synapses.values())} synapses: " \
           f"{len(net.populations)} cores on 1 chip (estimate)" in lines


def test_cam_density_sets_the_bits_of_every_learned_content(capsys):
    assert cli.main(["cam", "--experiment", "random", "--n-cues", "4", "--n-bits", "10", "--ops", "12",
                     "--density", "1.0", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    learns = [r for r in report["results"] if r["op"] == "learn"]
    assert learns and all(r["got"] == [1] * 10 for r in learns) and report["correct"] == 12
    ops = cam.random_ops(4, 10, 12, 0, 8, density=1.0)
    assert [o.op for o in ops] == [r["op"] for r in report["results"]]
