"""The CA3 content-addressable memory as a plain Brian2 program, written by hand.

The baseline of ``bench_brian2.py``: the network of spikemem/data/ca3/MODEL.md
with the porting choices of PORTING.md, in its two variants ("default" =
models/ca3_cam.yaml, "published" = models/ca3_cam_published.yaml). It does not
use spikemem (the benchmark checks that both give the same spikes).

- Units: mV, nA, nF, ms; every variable is dimensionless, time counted in 1 ms steps.
- Neurons: IF_curr_exp as an explicit per-step linear map (``exact`` or sPyNNaker's
  ``fixed_step`` scheme), a refractory period of one skipped step.
- A PyNN delay of d steps is a Brian2 delay of d - 1 steps (Brian2 delivers after the
  threshold test; the membrane sees the input in the next update).
- STDP: pair rule with lazy traces, 6 nA per unit trace, clipped to [0, 6];
  pathways ``post`` (1 ms back-propagation delay), ``plast`` (pre event) and ``pre``
  (transmission of the updated weight), in that order within a step.
- Default variant: the learning signal INlearn opens a 7-step plasticity episode in
  every plastic synapse (a Synapses onto the Synapses), resets the traces and first
  clears the learned cue's old weights; #3 is 12 nA and #12 is left out.
- Parameters are shared constants and object names fixed, so generated code is
  reused across sizes (the cython cache stays warm).
"""
from __future__ import annotations

import math

import brian2 as b2
import numpy as np

DT = 1.0  # ms
TAU_SYN, V_REST, V_RESET, V_INIT, V_THRESH, V_THRESH_OUT = 0.3, -60.0, -60.0, -60.0, -57.0, -57.5
SLOW, FAST = (0.27, 3.0), (0.14, 0.5)  # (cm nF, tau_m ms)
W_MAX, A_STDP, TAU_STDP, WINDOW = 6.0, 6.0, 3.0, 7.0  # nA, nA per unit trace, ms, steps

NEURON_EQS = """
v : 1
I_E : 1
I_I : 1
ref_until : 1
v_inf : 1 (shared, constant)
v_thresh : 1 (shared, constant)
v_reset : 1 (shared, constant)
ref_steps : 1 (shared, constant)
p22 : 1 (shared, constant)
p11 : 1 (shared, constant)
p21 : 1 (shared, constant)
spike_scale : 1 (shared, constant)
"""
NEURON_STEP = """
active = int(t_in_timesteps > ref_until)
v = active * (v_inf + (v - v_inf) * p22 + p21 * I_E - p21 * I_I) + (1 - active) * v
I_E = I_E * p11
I_I = I_I * p11
"""
STDP_EQS = """
w : 1
apre : 1
apost : 1
lpre : 1
lpost : 1
A : 1 (shared, constant)
tau : 1 (shared, constant)
w_max : 1 (shared, constant)
"""
GATE_EQS = """
t_open : 1
lforget : 1
window : 1 (shared, constant)
"""
# lazy traces: decayed from their last update; gated, traces from before the episode count as 0
TRACES = """
apre = apre * exp(-(t_in_timesteps - lpre) / tau){keep_pre}
apost = apost * exp(-(t_in_timesteps - lpost) / tau){keep_post}
lpre = t_in_timesteps
lpost = t_in_timesteps
"""
EPISODE = "episode = int(t_in_timesteps >= t_open) * int(t_in_timesteps - t_open < window)\n"
FORGET = """forgetting = episode * int(lforget < t_open)
w = w * (1 - forgetting)
lforget = lforget * (1 - forgetting) + t_in_timesteps * forgetting
"""


def cell_constants(cm: float, tau_m: float, integration: str) -> dict[str, float]:
    """Coefficients of one 1 ms step of IF_curr_exp."""
    p22, p11 = math.exp(-DT / tau_m), math.exp(-DT / TAU_SYN)
    if integration == "exact":
        p21 = (tau_m * TAU_SYN / (cm * (tau_m - TAU_SYN))) * (math.exp(-DT / tau_m) - math.exp(-DT / TAU_SYN))
        return dict(v_inf=V_REST, p22=p22, p11=p11, p21=p21, spike_scale=1.0)
    # fixed_step (sPyNNaker): the input current is held over the step
    return dict(v_inf=V_REST, p22=p22, p11=p11, p21=tau_m / cm * (1.0 - p22), spike_scale=TAU_SYN / DT * (1.0 - p11))


def simulate(n_cues: int, n_bits: int, cue_times, cont_times, learn_times, duration: float,
             variant: str = "default", integration: str | None = None, target: str = "numpy",
             directory: str | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Run the memory for ``duration`` ms on ``target`` (numpy, cython, cpp_standalone).

    Inputs: spike times (ms) per INcue neuron, per INcont neuron, and of the learning
    signal (ignored by the published variant). Returns ``{population: (indices, times ms)}``
    for INcue, INcont, the 8 CA3 populations, OUTcue and OUTcont.
    """
    gated = variant == "default"
    integration = integration or ("exact" if gated else "fixed_step")
    n, m = n_cues, n_bits
    previous_target = b2.prefs.codegen.target
    if target == "cpp_standalone":
        b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
    else:
        b2.prefs.codegen.target = target
    try:
        clock = b2.Clock(DT * b2.ms, name="ca3_clock")

        def source(name, size, times):
            idx = np.array([k for k, ts in enumerate(times) for _ in ts], dtype=int)
            ts = np.array([t for ts in times for t in ts], dtype=float)
            return b2.SpikeGeneratorGroup(size, idx, ts * b2.ms, clock=clock, name=name)

        def neurons(name, size, cell, v_thresh=V_THRESH):
            g = b2.NeuronGroup(size, NEURON_EQS, threshold="v >= v_thresh",
                               reset="v = v_reset\nref_until = t_in_timesteps + ref_steps", clock=clock, name=name)
            for key, value in cell_constants(*cell, integration).items():
                setattr(g, key, value)
            g.v_thresh, g.v_reset, g.ref_steps, g.v, g.ref_until = v_thresh, V_RESET, 1, V_INIT, -1
            g.run_regularly(NEURON_STEP, when="groups", name=f"{name}_step")
            return g

        pops = {"INcue": source("ca3_in_cue", n, cue_times), "INcont": source("ca3_in_cont", m, cont_times),
                "CA3cueCueRecall": neurons("ca3_cue_cue", n, SLOW),
                "CA3cueContRecall": neurons("ca3_cue_cont", n, FAST),
                "CA3contCueRecall": neurons("ca3_cont_cue", m, SLOW),
                "CA3contContRecall": neurons("ca3_cont_cont", m, SLOW),
                "CA3contCond": neurons("ca3_cont_cond", m, FAST),
                "CA3contCondInt": neurons("ca3_cont_cond_int", 1, FAST),
                "CA3MergeCue": neurons("ca3_merge_cue", n, SLOW),
                "CA3MergeCont": neurons("ca3_merge_cont", m, SLOW),
                "OUTcue": neurons("ca3_out_cue", n, SLOW, V_THRESH_OUT),
                "OUTcont": neurons("ca3_out_cont", m, SLOW, V_THRESH_OUT)}
        monitors = {key: b2.SpikeMonitor(g, name=f"{g.name}_spikes") for key, g in pops.items()}
        objects = [*pops.values(), *monitors.values()]

        def pairs(pre, post, kind):  # synapse index arrays, row-major over (pre, post)
            n_pre, n_post = len(pops[pre]), len(pops[post])
            if kind == "one":
                return np.arange(n_pre), np.arange(n_pre)
            i, j = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
            keep = i != j if kind == "all_but_self" else np.ones_like(i, dtype=bool)
            return i[keep], j[keep]

        # (MODEL.md number, pre, post, connector, weight nA, PyNN delay ms, receptor)
        static = [(1, "INcue", "CA3cueCueRecall", "one", 6.0, 1, "E"),
                  (2, "INcont", "CA3contCueRecall", "one", 6.0, 1, "E"),
                  (3, "CA3cueCueRecall", "CA3cueContRecall", "one", 12.0 if gated else 6.0, 2, "E"),
                  (4, "CA3cueCueRecall", "CA3cueContRecall", "all_but_self", 6.0 * m, 3, "I"),
                  (5, "CA3cueCueRecall", "CA3contCond", "all", 6.0, 2, "I"),
                  (6, "CA3contCueRecall", "CA3contCond", "one", 9.0, 1, "E"),
                  (7, "CA3contCond", "CA3contContRecall", "one", 6.0, 1, "E"),
                  (8, "CA3contCueRecall", "CA3contCondInt", "all", 6.0, 1, "E"),
                  (9, "CA3contCondInt", "CA3contCond", "all", 2.0, 1, "E"),
                  (12, "CA3cueContRecall", "CA3cueContRecall", "all_but_self", 6.0 * m, 2, "I"),
                  (13, "CA3cueCueRecall", "CA3MergeCue", "one", 6.0, 3, "E"),
                  (14, "CA3cueContRecall", "CA3MergeCue", "one", 6.0, 1, "E"),
                  (15, "CA3contCueRecall", "CA3MergeCont", "one", 6.0, 3, "E"),
                  (16, "CA3contContRecall", "CA3MergeCont", "one", 6.0, 1, "E"),
                  (17, "CA3MergeCue", "OUTcue", "one", 6.0, 1, "E"),
                  (18, "CA3MergeCont", "OUTcont", "one", 6.0, 1, "E")]
        if gated:  # the default variant leaves out #12 (models/ca3_cam.yaml header, change 2)
            static = [row for row in static if row[0] != 12]
        for num, pre, post, kind, weight, delay, rec in static:
            s = b2.Synapses(pops[pre], pops[post], "w : 1 (shared, constant)",
                            on_pre=f"I_{rec}_post += w * spike_scale_post",
                            delay=(delay - 1) * DT * b2.ms, clock=clock, name=f"ca3_syn{num:02d}")
            s.connect(i=pairs(pre, post, kind)[0], j=pairs(pre, post, kind)[1])
            s.w = weight
            objects.append(s)

        # plastic #10 (cue -> content, forgets on the pre event) and #11 (content -> cue, on the post event)
        keep = " * int(lpre >= t_open)", " * int(lpost >= t_open)"
        for num, pre, post, forget_on in ((10, "CA3cueCueRecall", "CA3contCueRecall", "pre"),
                                          (11, "CA3contContRecall", "CA3cueContRecall", "post")):
            traces = TRACES.format(keep_pre=keep[0] if gated else "", keep_post=keep[1] if gated else "")
            gate = "episode * " if gated else ""
            on_pre_event = (EPISODE if gated else "") + traces + (FORGET if gated and forget_on == "pre" else "") \
                + f"w = clip(w - {gate}A * apost, 0, w_max)\napre += 1\n"
            on_post_event = (EPISODE if gated else "") + traces + (FORGET if gated and forget_on == "post" else "") \
                + f"w = clip(w + {gate}A * apre, 0, w_max)\napost += 1\n"
            s = b2.Synapses(pops[pre], pops[post], STDP_EQS + (GATE_EQS if gated else ""),
                            on_pre={"plast": on_pre_event, "pre": "I_E_post += w * spike_scale_post"},
                            on_post={"post": on_post_event},
                            delay={"plast": 0 * b2.ms, "pre": 0 * b2.ms, "post": DT * b2.ms},
                            clock=clock, name=f"ca3_syn{num:02d}")
            i, j = pairs(pre, post, "all")
            s.connect(i=i, j=j)
            s.w, s.apre, s.apost, s.lpre, s.lpost = 0.0, 0.0, 0.0, -1e9, -1e9
            s.A, s.tau, s.w_max = A_STDP, TAU_STDP / DT, W_MAX
            s.post.order, s.plast.order, s.pre.order = 1, 2, 3  # post event first, then pre event, then send
            objects.append(s)
            if gated:
                s.t_open, s.lforget, s.window = -1e9, -1e9, WINDOW
                if "INlearn" not in pops:
                    pops["INlearn"] = source("ca3_in_learn", 1, [list(learn_times)])
                    objects.append(pops["INlearn"])
                g = b2.Synapses(pops["INlearn"], s, on_pre="t_open = t_in_timesteps", clock=clock,
                                name=f"ca3_gate{num:02d}")
                g.connect(i=np.zeros(len(s), dtype=int), j=np.arange(len(s)))
                g.pre.order = 0  # before every other pathway of the step
                objects.append(g)

        network = b2.Network(*objects)
        network.run(duration * b2.ms, namespace={})
        if target == "cpp_standalone":
            b2.device.build(directory=directory, compile=True, run=True, with_output=False)
        return {key: (np.asarray(mon.i[:], dtype=np.int64), np.round(np.asarray(mon.t / b2.ms) / DT) * DT)
                for key, mon in monitors.items()}
    finally:
        if target == "cpp_standalone":
            b2.device.reinit()
            b2.set_device("runtime")
        b2.prefs.codegen.target = previous_target


def by_step(indices: np.ndarray, times: np.ndarray) -> dict[int, list[int]]:
    """{step: sorted neuron indices} of one raster."""
    out: dict[int, list[int]] = {}
    for i, t in zip(indices.tolist(), times.tolist()):
        out.setdefault(int(round(t / DT)), []).append(i)
    return {k: sorted(v) for k, v in sorted(out.items())}
