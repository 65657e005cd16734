"""STDP on pyNN.nest: the exact host-stepped rule against NEST's own stdp_synapse ("nest_stdp").

One network: 100 Poisson inputs (10 Hz, from the seed) -> 10 IFCurrExp neurons, all to all,
additive pair rule with post_delay equal to the delay (so NEST's stdp_synapse can run it),
dt = 0.1 ms, 2 s. Runs it on Brian2 (numpy), on pynn.nest exactly (the host steps the rule)
and on pynn.nest under the approximation ``nest_stdp``, and writes wall times, spike counts,
the number of same-step pre/post coincidences (where NEST's rule differs) and the weight
differences to ``benchmarks/results/bench_nest_stdp.json``.

    .venv/bin/python benchmarks/bench_nest_stdp.py [--duration MS]
"""
from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

import spikemem
from spikemem import STDP, Additive, AllToAll, IFCurrExp, Network, Poisson, Population, Probe, Projection, SpikePair

CELL = dict(cm=0.27, tau_m=3.0, tau_syn_E=0.3, tau_syn_I=0.5, v_rest=-60.0, v_reset=-61.0, v_thresh=-57.0,
            v_init=-60.0, tau_refrac=2.0, i_offset=0.0, integration="exact")


def network() -> Network:
    rule = STDP(timing=SpikePair(tau_plus=16.8, tau_minus=33.7, A_plus=0.01, A_minus=0.012, post_delay=0.5),
                weights=Additive(w_min=0.0, w_max=2.0))
    return Network(dt=0.1, seed=7,
                   populations=[Population("inputs", 100, Poisson(rate=10.0)), Population("cells", 10, IFCurrExp(**CELL))],
                   projections=[Projection("plastic", "inputs", "cells", AllToAll(), weight=0.5, delay=0.5,
                                           synapse=rule)],
                   probes=[Probe("inputs", ["spikes"]), Probe("cells", ["spikes"])])


def timed(backend: str, duration: float, **options):
    sim = spikemem.compile(network(), backend=backend, **options)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = sim.run(duration)
    return result, time.perf_counter() - start


def coincidences(result, delay_steps: int, dt: float) -> int:
    """Same-step (pre spike, post event) pairs: pre at step s, post spike at q with q + delay == s."""
    pre = np.round(result.spikes["inputs"].times / dt).astype(int)
    post = np.round(result.spikes["cells"].times / dt).astype(int) + delay_steps
    pre_counts = np.bincount(pre, minlength=post.max() + 1 if len(post) else 1)
    return int(sum(pre_counts[q] for q in post if q < len(pre_counts)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=2000.0)
    args = parser.parse_args()
    d = args.duration
    brian2, t_brian2 = timed("brian2", d)
    native, t_native = timed("pynn.nest", d, approximations=["nest_stdp"])
    host, t_host = timed("pynn.nest", d)
    w_b, w_h, w_n = (r.weights["plastic"] for r in (brian2, host, native))
    out = {
        "network": "100 Poisson inputs (10 Hz) -> 10 IFCurrExp, all to all, additive STDP, dt 0.1 ms",
        "duration_ms": d,
        "wall_s": {"brian2_numpy": round(t_brian2, 2), "nest_host_stepped": round(t_host, 2),
                   "nest_stdp_synapse": round(t_native, 2)},
        "input_spikes": len(brian2.spikes["inputs"].times),
        "cell_spikes": {"brian2": len(brian2.spikes["cells"].times), "nest_host_stepped": len(host.spikes["cells"].times),
                        "nest_stdp_synapse": len(native.spikes["cells"].times)},
        "host_equals_brian2": brian2.spikes["cells"].events(0.1) == host.spikes["cells"].events(0.1)
                              and float(np.nanmax(np.abs(w_h - w_b))) < 1e-12,
        "max_abs_dw_host_vs_brian2_nA": float(np.nanmax(np.abs(w_h - w_b))),
        "same_step_pairs_exact_run": coincidences(brian2, 5, 0.1),
        "max_abs_dw_native_vs_exact_nA": float(np.nanmax(np.abs(w_n - w_b))),
        "mean_abs_dw_native_vs_exact_nA": float(np.nanmean(np.abs(w_n - w_b))),
        "w_range_exact_nA": [float(np.nanmin(w_b)), float(np.nanmax(w_b))],
    }
    path = Path(__file__).parent / "results" / "bench_nest_stdp.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
