"""The IR's pair rule with its learning gate, stepped on the host.

Engines without a gated rule (every PyNN engine) run a gated STDP projection
as a static projection and let this module compute its weights from the
recorded spikes, one step at a time inside each learning episode. The
arithmetic follows the Brian2 backend's generated code operation for
operation (per-synapse lazy traces, the same exponentials, the same clipping),
so both give the same weights.

Times are in steps of ``net.dt``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikemem.ir.synapses import STDP, Additive

_FAR_PAST = -1e9


@dataclass
class PairRuleState:
    """Per-synapse state of one plastic projection (synapses in connector order)."""
    i: np.ndarray         #: pre index of each synapse
    j: np.ndarray         #: post index of each synapse
    w: np.ndarray         #: weight (nA)
    apre: np.ndarray      #: pre trace
    apost: np.ndarray     #: post trace
    lpre: np.ndarray      #: step of the last update of apre
    lpost: np.ndarray     #: step of the last update of apost
    lforget: np.ndarray   #: step of the last forgetting
    t_open: float         #: step the current episode opened (far past: none yet)


class GatedPairRule:
    """A projection's :class:`~spikemem.ir.synapses.STDP` rule (with or without a gate), fed step by step.

    Call :meth:`step` once per step with the neurons whose pre events and
    post events act in that step (post events act ``post_delay`` after the
    post spike; the caller passes the delayed ones) and whether a gate spike
    opens an episode at that step.
    """

    def __init__(self, rule: STDP, i: np.ndarray, j: np.ndarray, w: np.ndarray, dt: float):
        timing, gate = rule.timing, rule.gate
        self.rule, self.dt = rule, dt
        self.tau_plus, self.tau_minus = timing.tau_plus / dt, timing.tau_minus / dt
        self.window = gate.window / dt if gate is not None else 1e30
        self.additive = isinstance(rule.weights, Additive)
        self.reset_traces = gate is not None and gate.reset_traces
        self.forget = gate.forget if gate is not None else "none"
        n = len(i)
        self.state = PairRuleState(
            i=np.asarray(i, dtype=np.int64), j=np.asarray(j, dtype=np.int64), w=np.asarray(w, float).copy(),
            apre=np.zeros(n), apost=np.zeros(n), lpre=np.full(n, _FAR_PAST), lpost=np.full(n, _FAR_PAST),
            lforget=np.full(n, _FAR_PAST), t_open=_FAR_PAST if gate is not None else -1e18)

    def in_episode(self, step: int) -> bool:
        """Whether weight changes act at ``step``."""
        t_open = self.state.t_open
        return step >= t_open and step - t_open < self.window

    def step(self, step: int, pre: np.ndarray, post: np.ndarray, gate_opens: bool) -> bool:
        """Apply the events of ``step``; return whether any weight changed."""
        s = self.state
        if gate_opens:
            s.t_open = float(step)
        before = s.w.copy() if (len(pre) or len(post)) else None
        order = ("post", "pre") if self.rule.timing.same_step == "post_first" else ("pre", "post")
        for side in order:
            neurons = pre if side == "pre" else post
            if len(neurons):
                k = np.nonzero(np.isin(s.i if side == "pre" else s.j, neurons))[0]
                self._event(side, k, step)
        return before is not None and not np.array_equal(before, s.w)

    def _event(self, side: str, k: np.ndarray, t: int) -> None:
        s, w_min, w_max = self.state, self.rule.weights.w_min, self.rule.weights.w_max
        episode = float(t >= s.t_open) * float(t - s.t_open < self.window)
        keep_pre = (s.lpre[k] >= s.t_open).astype(float) if self.reset_traces else 1.0
        keep_post = (s.lpost[k] >= s.t_open).astype(float) if self.reset_traces else 1.0
        s.apre[k] = s.apre[k] * np.exp(-(t - s.lpre[k]) / self.tau_plus) * keep_pre
        s.apost[k] = s.apost[k] * np.exp(-(t - s.lpost[k]) / self.tau_minus) * keep_post
        s.lpre[k] = t
        s.lpost[k] = t
        if self.forget == side:
            forgetting = episode * (s.lforget[k] < s.t_open).astype(float)
            s.w[k] = s.w[k] * (1 - forgetting) + w_min * forgetting
            s.lforget[k] = s.lforget[k] * (1 - forgetting) + t * forgetting
        w, A = s.w[k], self.rule.timing
        if side == "pre":
            dep = A.A_minus * w_max * s.apost[k] if self.additive else A.A_minus * (w - w_min) * s.apost[k]
            s.w[k] = np.clip(w - episode * dep, w_min, w_max)
            s.apre[k] = s.apre[k] + 1 if self.rule.timing.traces == "all_to_all" else s.apre[k] * 0 + 1
        else:
            pot = A.A_plus * w_max * s.apre[k] if self.additive else A.A_plus * (w_max - w) * s.apre[k]
            s.w[k] = np.clip(w + episode * pot, w_min, w_max)
            s.apost[k] = s.apost[k] + 1 if self.rule.timing.traces == "all_to_all" else s.apost[k] * 0 + 1


def pending_potentiation(rule: STDP, w: np.ndarray, j: np.ndarray, kplus: np.ndarray, last_pre: np.ndarray,
                         post_j: np.ndarray, post_arrival: np.ndarray, until: int, dt: float) -> np.ndarray:
    """Weights (nA) once the potentiation an engine applies lazily has been applied.

    NEST's ``stdp_synapse`` potentiates a synapse for its post events only at the
    synapse's next pre spike, so the weight it holds is the weight as of its last pre
    spike. This applies the rest: every post event arriving (step ``post_arrival``, the
    post spike plus the back-propagation delay) after the synapse's last pre spike and
    before step ``until`` potentiates by the pre trace ``kplus`` (its value just after
    the last pre spike) decayed over the gap, in arrival order, clipped as the rule clips.

    ``w``, ``j``, ``kplus``, ``last_pre`` (step; far past where none): per synapse.
    ``post_j``, ``post_arrival``: per post event. Ungated rules with all-to-all traces only.
    """
    w = np.asarray(w, float).copy()
    timing, bounds = rule.timing, rule.weights
    additive = isinstance(bounds, Additive)
    tau_plus = timing.tau_plus / dt
    keep = post_arrival < until
    order = np.argsort(post_arrival[keep], kind="stable")
    for neuron, arrival in zip(post_j[keep][order], post_arrival[keep][order]):
        k = np.nonzero((j == neuron) & (last_pre < arrival))[0]
        if not len(k):
            continue
        trace = kplus[k] * np.exp(-(arrival - last_pre[k]) / tau_plus)
        pot = timing.A_plus * bounds.w_max * trace if additive else timing.A_plus * (bounds.w_max - w[k]) * trace
        w[k] = np.clip(w[k] + pot, bounds.w_min, bounds.w_max)
    return w
