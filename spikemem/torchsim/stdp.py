"""The IR's pair rule (``STDP`` with its ``LearningGate``) on dense per-synapse tensors.

The arithmetic is :class:`spikemem.ir.plasticity.GatedPairRule`'s (the Brian2
backend's generated code) operation for operation: per-synapse traces decay
lazily from their last update, the same products in the same order, the same
clipping. Times are in steps. The exponentials ``exp(-n / tau)`` of the lazy
decay are read from a table of numpy's values for whole steps n, so the traces
are numpy's (and the host rule's) to the last bit.

Entries where the connector made no synapse carry values that nothing reads (the
caller masks them out of the transmitted input). A plastic state is large, so the
event functions update it in place and return the same state.

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
    """One projection's rule, in steps.

    ``decay_plus[n] = exp(-n / tau_plus)``, ``decay_minus[n] = exp(-n / tau_minus)`` for whole
    steps n (0 in the last entry; one tensor when the taus are equal).
    """
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


#: the per-synapse variables, in the order of ``PairRuleState.synapses``' third axis. ``last``: the
#: step of the last event; the host rule's ``lpre`` and ``lpost`` are both set at every event, so
#: they are always equal and one variable holds them
VARIABLES = ("w", "apre", "apost", "last", "lforget")
_W, _APRE, _APOST, _LAST, _LFORGET = range(len(VARIABLES))


class PairRuleState(NamedTuple):
    """Per-synapse variables packed in ``synapses`` (B, n_pre, 5, n_post), in :data:`VARIABLES` order:
    weight (nA), traces, step of their last update, step of the last forgetting; ``t_open`` (B,)
    the step the trial's episode opened.

    Packed, one gather reads the variables of the synapses of a pre neuron, each a
    contiguous row. ``post_major``: ``synapses`` is (B, n_post, 5, n_pre) instead, for a
    projection with more post events than pre events (:func:`relayout`; the arithmetic
    does not depend on the layout).
    """
    synapses: torch.Tensor
    t_open: torch.Tensor
    post_major: bool = False

    @property
    def w(self) -> torch.Tensor:
        """The weights (B, n_pre, n_post), a view."""
        w = self.synapses[:, :, _W, :]
        return w.transpose(1, 2) if self.post_major else w


def relayout(state: PairRuleState) -> PairRuleState:
    """The same state in the other memory layout (pre-major <-> post-major)."""
    return PairRuleState(state.synapses.permute(0, 3, 2, 1).contiguous(), state.t_open, not state.post_major)


def _decay_table(tau_steps: float, length: int, dtype: torch.dtype, device) -> torch.Tensor:
    table = np.exp(-(np.arange(length, dtype=float)) / tau_steps)
    assert table[-1] == 0.0
    return torch.as_tensor(table, dtype=dtype, device=device)


def pair_rule_params(rule: STDP, dt: float, dtype: torch.dtype = torch.float64,
                     device: str | torch.device = "cpu") -> PairRuleParams:
    """The rule of ``rule`` for steps of ``dt`` ms."""
    timing, gate = rule.timing, rule.gate
    taus = (timing.tau_plus / dt, timing.tau_minus / dt)
    length = int(np.ceil(746.0 * max(taus))) + 2  # exp(-x) is 0 in float64 from x ~ 745.2
    plus = _decay_table(taus[0], length, dtype, device)
    minus = plus if taus[1] == taus[0] else _decay_table(taus[1], length, dtype, device)
    return PairRuleParams(
        decay_plus=plus, decay_minus=minus,
        A_plus=timing.A_plus, A_minus=timing.A_minus, w_min=rule.weights.w_min, w_max=rule.weights.w_max,
        window=gate.window / dt if gate is not None else 1e30, additive=isinstance(rule.weights, Additive),
        nearest=timing.traces == "nearest", reset_traces=gate is not None and gate.reset_traces,
        forget=gate.forget if gate is not None else "none", post_first=timing.same_step == "post_first",
        post_delay=int(round(timing.post_delay / dt)), gate_delay=int(round(gate.delay / dt)) if gate else 0)


def pair_rule_init(w0: torch.Tensor, batch: int, gated: bool) -> PairRuleState:
    """The state at t = 0: weights ``w0`` (n_pre, n_post) in every trial, no traces, no episode yet."""
    n_pre, n_post = w0.shape
    synapses = torch.zeros((batch, n_pre, len(VARIABLES), n_post), dtype=w0.dtype, device=w0.device)
    synapses[:, :, _W, :] = w0
    synapses[:, :, _LAST:, :] = _FAR_PAST
    t_open = torch.full((batch,), _FAR_PAST if gated else -1e18, dtype=w0.dtype, device=w0.device)
    return PairRuleState(synapses, t_open)


def open_gate(state: PairRuleState, opens: torch.Tensor, t: int) -> PairRuleState:
    """Trials where ``opens`` (bool, (B,)) start an episode at step ``t``."""
    return state._replace(t_open=torch.where(opens, torch.full_like(state.t_open, float(t)), state.t_open))


def episode_open(state: PairRuleState, p: PairRuleParams, t: int) -> torch.Tensor:
    """Whether weight changes act at step ``t``, per trial (bool, (B,))."""
    return (t >= state.t_open) & (t - state.t_open < p.window)


def _event(state: PairRuleState, p: PairRuleParams, side: str, b: torch.Tensor, n: torch.Tensor, t: int) -> None:
    """Pre (``side="pre"``: the synapses of pre neurons ``n``) or post events at step ``t``, trials ``b``.

    The operations of :meth:`spikemem.ir.plasticity.GatedPairRule._event` with the same
    results to the last bit, on a gathered copy of the events' synapses, in place:

    - ``(apre * exp(-(t - lpre) / tau)) * keep`` with keep 0 or 1 is read as
      ``apre * table[t - lpre]`` with the table's last entry (0) where keep is 0;
    - ``episode * (c * x)`` with episode 0 or 1 is computed as ``x * (c * episode)``.
    """
    syn = state.synapses
    nvar = syn.shape[2]
    along_major = (side == "pre") != state.post_major
    if along_major:                                     # (k, 5, m): whole rows
        rows = b * syn.shape[1] + n
        s = syn.view(-1, nvar * syn.shape[3]).index_select(0, rows).view(len(b), nvar, syn.shape[3])
    else:                                               # strided: gather through flat indices
        major, minor = syn.shape[1], syn.shape[3]
        flat = ((b * major)[:, None, None] + torch.arange(major, device=syn.device)[None, :, None]) * nvar \
            + torch.arange(nvar, device=syn.device)
        flat = flat * minor + n[:, None, None]          # (k, major, 5): element (b, i, v, n)
        s = syn.view(-1).take(flat).transpose(1, 2)     # (k, 5, major)
    w, apre, apost, last, lforget = s.unbind(1)
    t_open = state.t_open[b][:, None]                   # (k, 1)
    episode = ((t >= t_open) & (t - t_open < p.window)).to(s.dtype)
    steps = t - last
    end = len(p.decay_plus) - 1
    if p.reset_traces:                                  # a trace from before the episode counts as 0
        steps.masked_fill_(last < t_open, end)
    index = steps.clamp_(max=end).long()
    decay = p.decay_plus.take(index)
    apre.mul_(decay)                                    # the traces decayed to t
    apost.mul_(decay if p.decay_minus is p.decay_plus else p.decay_minus.take(index))
    if p.forget == side:
        forgetting = episode * (lforget < t_open).to(s.dtype)
        w.copy_(w * (1 - forgetting) + p.w_min * forgetting)
        lforget.copy_(lforget * (1 - forgetting) + t * forgetting)
    if side == "pre":
        dep = apost * (p.A_minus * p.w_max * episode) if p.additive else \
            (w - p.w_min) * (p.A_minus * episode) * apost
        w.sub_(dep).clamp_(p.w_min, p.w_max)
        apre.fill_(1.0) if p.nearest else apre.add_(1.0)
    else:
        pot = apre * (p.A_plus * p.w_max * episode) if p.additive else \
            (p.w_max - w) * (p.A_plus * episode) * apre
        w.add_(pot).clamp_(p.w_min, p.w_max)
        apost.fill_(1.0) if p.nearest else apost.add_(1.0)
    last.fill_(float(t))
    if along_major:
        syn.view(-1, nvar * syn.shape[3]).index_copy_(0, rows, s.view(len(b), -1))
    else:
        syn.view(-1).put_(flat, s.transpose(1, 2))


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
