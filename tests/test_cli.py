"""The spikemem command, run as a user runs it."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT


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
    assert "IFCurrExp with integration 'fixed_step' is not supported by backend 'pynn.nest'" in out.stderr


def test_cam_random_published_reports_mismatches():
    out = spikemem("cam", "--experiment", "random", "--variant", "published", "--n-cues", "5", "--n-bits", "10",
                   "--ops", "60", "--seed", "2", "--json")
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


def test_run_any_model_with_set(tmp_path):
    model = tmp_path / "m.yaml"
    model.write_text("""
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
""")
    out = spikemem("run", str(model), "--duration", "20", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["spike_counts"] == {"src": 3, "cells": 3}
    assert report["spikes"]["cells"]["times_ms"] == [3.0, 4.0, 7.0]  # delay 2 ms: t + 2
    bad = spikemem("run", str(model), "--duration", "20", "--set", "m=4")
    assert bad.returncode == 2 and "--set m: unknown param" in bad.stderr
