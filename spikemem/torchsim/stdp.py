"""The IR's pair rule (``STDP`` with its ``LearningGate``) on dense per-synapse tensors.

The arithmetic is :class:`spikemem.ir.plasticity.GatedPairRule`'s (the Brian2
backend's generated code) operation for operation: per-synapse traces decay
lazily from their last update, the same products in the same order, the same
clipping. Times are in steps. The exponentials ``exp(-n / tau)`` of the lazy
decay are read from a table of numpy's values for whole steps n, so the traces
are numpy's (and the host rule's) to the last bit.

State tensors are (B, n_pre, n_post); entries where the connector made no
synapse carry values that nothing reads (the caller masks them out of the
transmitted input). A plastic state is large, so the event functions update its
tensors in place and return the same state.

Within a step, as in Brian2: a gate spike opens the episode first, then the pre
events (pre spikes of this step) and the post events (post spikes
``post_delay`` steps ago) in the order ``same_step`` says; the weight sent by a
pre spike is read after both.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from spikemem.ir.synapses import STDP, Additive

_FAR_PAST = -1e9


class PairRuleParams(NamedTuple):
    """One projection's rule, in steps; ``decay_*[n] = exp(-n / tau_*)`` for whole steps n (0 beyond)."""
    decay_plus: torch.Tensor
    decay_minus: torch.Tensor
    A_plus: float
    A_minus: float
    w_min: float
    w_max: float
    window: float           #: episode length (steps; 1e30 without a gate)
    additive: bool
    nearest: bool           #: traces set to 1 by a spike (else + 1)
    reset_traces: bool
    forget: str             #: "pre", "post" or "none"
    post_first: bool        #: same_step == "post_first"
    post_delay: int         #: steps from a post spike to its post event
    gate_delay: int         #: steps from a gate spike to the episode's opening


class PairRuleState(NamedTuple):
    """Per-synapse weight (nA), traces, last-update steps; ``t_open`` per trial (B,)."""
    w: torch.Tensor
    apre: torch.Tensor
    apost: torch.Tensor
    lpre: torch.Tensor
    lpost: torch.Tensor
    lforget: torch.Tensor
    t_open: torch.Tensor


def _decay_table(tau_steps: float, dtype: torch.dtype, device) -> torch.Tensor:
    """``exp(-n / tau)`` for n = 0, 1, ... up to the first n where numpy's value is 0."""
    n = int(np.ceil(746.0 * tau_steps)) + 2  # exp(-x) is 0 in float64 from x ~ 745.2
    table = np.exp(-(np.arange(n, dtype=float)) / tau_steps)
    assert table[-1] == 0.0
    return torch.as_tensor(table, dtype=dtype, device=device)


def pair_rule_params(rule: STDP, dt: float, dtype: torch.dtype = torch.float64,
                     device: str | torch.device = "cpu") -> PairRuleParams:
    """The rule of ``rule`` for steps of ``dt`` ms."""
    timing, gate = rule.timing, rule.gate
    return PairRuleParams(
        decay_plus=_decay_table(timing.tau_plus / dt, dtype, device),
        decay_minus=_decay_table(timing.tau_minus / dt, dtype, device),
        A_plus=timing.A_plus, A_minus=timing.A_minus, w_min=rule.weights.w_min, w_max=rule.weights.w_max,
        window=gate.window / dt if gate is not None else 1e30, additive=isinstance(rule.weights, Additive),
        nearest=timing.traces == "nearest", reset_traces=gate is not None and gate.reset_traces,
        forget=gate.forget if gate is not None else "none", post_first=timing.same_step == "post_first",
        post_delay=int(round(timing.post_delay / dt)), gate_delay=int(round(gate.delay / dt)) if gate else 0)


def pair_rule_init(w0: torch.Tensor, batch: int, gated: bool) -> PairRuleState:
    """The state at t = 0: weights ``w0`` (n_pre, n_post) in every trial, no traces, no episode yet."""
    w = w0.expand(batch, *w0.shape).clone()
    far = torch.full_like(w, _FAR_PAST)
    t_open = torch.full((batch,), _FAR_PAST if gated else -1e18, dtype=w.dtype, device=w.device)
    return PairRuleState(w, torch.zeros_like(w), torch.zeros_like(w), far, far.clone(), far.clone(), t_open)


def open_gate(state: PairRuleState, opens: torch.Tensor, t: int) -> PairRuleState:
    """Trials where ``opens`` (bool, (B,)) start an episode at step ``t``."""
    return state._replace(t_open=torch.where(opens, torch.full_like(state.t_open, float(t)), state.t_open))


def episode_open(state: PairRuleState, p: PairRuleParams, t: int) -> torch.Tensor:
    """Whether weight changes act at step ``t``, per trial (bool, (B,))."""
    return (t >= state.t_open) & (t - state.t_open < p.window)


def _decay(table: torch.Tensor, last: torch.Tensor, t: int) -> torch.Tensor:
    return table[(t - last).clamp(max=len(table) - 1).long()]


def _event(state: PairRuleState, p: PairRuleParams, side: str, b: torch.Tensor, n: torch.Tensor, t: int) -> None:
    """Pre (``side="pre"``, rows ``[b, n, :]``) or post (columns ``[b, :, n]``) events at step ``t``."""
    index = (b, n) if side == "pre" else (b, slice(None), n)
    w, apre, apost, lpre, lpost, lforget = (x[index] for x in state[:6])
    t_open = state.t_open[b][:, None]
    dtype = w.dtype
    episode = (t >= t_open).to(dtype) * (t - t_open < p.window).to(dtype)
    apre = apre * _decay(p.decay_plus, lpre, t)
    apost = apost * _decay(p.decay_minus, lpost, t)
    if p.reset_traces:
        apre = apre * (lpre >= t_open).to(dtype)
        apost = apost * (lpost >= t_open).to(dtype)
    stamp = torch.full_like(w, float(t))
    if p.forget == side:
        forgetting = episode * (lforget < t_open).to(dtype)
        w = w * (1 - forgetting) + p.w_min * forgetting
        state.lforget[index] = lforget * (1 - forgetting) + t * forgetting
    if side == "pre":
        dep = p.A_minus * p.w_max * apost if p.additive else p.A_minus * (w - p.w_min) * apost
        w = torch.clamp(w - episode * dep, p.w_min, p.w_max)
        apre = torch.ones_like(apre) if p.nearest else apre + 1
    else:
        pot = p.A_plus * p.w_max * apre if p.additive else p.A_plus * (p.w_max - w) * apre
        w = torch.clamp(w + episode * pot, p.w_min, p.w_max)
        apost = torch.ones_like(apost) if p.nearest else apost + 1
    state.w[index], state.apre[index], state.apost[index] = w, apre, apost
    state.lpre[index] = stamp
    state.lpost[index] = stamp


def pre_events(state: PairRuleState, p: PairRuleParams, b: torch.Tensor, i: torch.Tensor, t: int) -> PairRuleState:
    """Pre events of pre neurons ``i`` in trials ``b`` (int64, (k,) each) at step ``t``."""
    if len(b):
        _event(state, p, "pre", b, i, t)
    return state


def post_events(state: PairRuleState, p: PairRuleParams, b: torch.Tensor, j: torch.Tensor, t: int) -> PairRuleState:
    """Post events of post neurons ``j`` in trials ``b`` at step ``t`` (their spikes were ``post_delay`` earlier)."""
    if len(b):
        _event(state, p, "post", b, j, t)
    return state


def stdp_step(input: tuple[torch.Tensor, torch.Tensor, torch.Tensor | None], state: PairRuleState,
              p: PairRuleParams, t: int) -> tuple[torch.Tensor, PairRuleState]:
    """Step ``t`` of the rule: ``input`` = (pre spikes now (B, n_pre), post spikes ``post_delay``
    steps ago (B, n_post), gate spikes ``gate_delay`` steps ago (B, n_gate) or None).

    Returns the weights (B, n_pre, n_post) that this step's pre spikes carry, and the state.
    With ``reset_traces`` the events of trials outside an episode are skipped: their traces
    would be zeroed when the next episode opens and they change no weight, so the
    weights are those of applying them.
    """
    pre, post, gate = input
    if gate is not None:
        state = open_gate(state, gate.any(1), t)
    if p.reset_traces:
        inside = episode_open(state, p, t)[:, None]
        pre, post = pre & inside, post & inside
    sides = [("post", post), ("pre", pre)] if p.post_first else [("pre", pre), ("post", post)]
    for side, spikes in sides:
        b, n = spikes.nonzero(as_tuple=True)
        (pre_events if side == "pre" else post_events)(state, p, b, n, t)
    return state.w, state
