"""Neuron steps: ``IFCurrExp`` under both integration schemes and snnTorch-style ``LIF``.

Tensors have shape (B, N): B trials, N neurons. Parameters are per neuron
(shape (N,)), so several populations with different parameters step as one
pool with the same arithmetic as each alone.

Order within a step, as in the Brian2 backend (the reference): the membrane
update, the threshold test, the reset; then the input that arrives in this
step enters the synaptic state and acts in the next update (as in Norse,
where ``i_new = i_decayed + input`` follows the membrane update).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import torch

from spikemem.ir.dynamics import ifcurrexp_step as ir_ifcurrexp_step
from spikemem.ir.neurons import LIF, IFCurrExp


#: ``spike_fn(x, spikes)``: x = membrane minus threshold, spikes = the exact bool test on it;
#: returns float spikes equal to ``spikes`` whose gradient is a surrogate's (:mod:`spikemem.torchsim.surrogate`)
SpikeFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class IFCurrExpParams(NamedTuple):
    """Per-neuron coefficients of one step (:class:`spikemem.ir.dynamics.IFCurrExpStep`)."""
    v_inf: torch.Tensor          #: mV
    p22: torch.Tensor
    p21_e: torch.Tensor          #: mV per nA
    p21_i: torch.Tensor          #: mV per nA
    p11_e: torch.Tensor
    p11_i: torch.Tensor
    v_thresh: torch.Tensor       #: mV
    v_reset: torch.Tensor        #: mV
    refractory_steps: torch.Tensor  #: int64 steps held at v_reset after a spike
    spike_scale_e: torch.Tensor  #: nA of I_E per nA of input weight
    spike_scale_i: torch.Tensor


class IFCurrExpState(NamedTuple):
    """v (mV), I_E and I_I (nA, both >= 0; I_I inhibits), refractory steps left (int64); each (B, N)."""
    v: torch.Tensor
    i_e: torch.Tensor
    i_i: torch.Tensor
    refractory: torch.Tensor


class LIFParams(NamedTuple):
    """Per-neuron ``beta``, ``threshold`` and reset kind (``subtract``: True, ``zero``: False)."""
    beta: torch.Tensor
    threshold: torch.Tensor
    subtract: torch.Tensor


class LIFState(NamedTuple):
    """``mem`` and the input ``x`` waiting for the next update; each (B, N)."""
    mem: torch.Tensor
    x: torch.Tensor


def _pool(models: IFCurrExp | LIF | Sequence[tuple[IFCurrExp | LIF, int]]) -> list[tuple[object, int]]:
    return [(models, 1)] if isinstance(models, (IFCurrExp, LIF)) else list(models)


def ifcurrexp_params(models: IFCurrExp | Sequence[tuple[IFCurrExp, int]], dt: float,
                     dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> IFCurrExpParams:
    """Coefficients for a step of ``dt`` ms: one model, or ``[(model, n_neurons), ...]`` pooled in that order."""
    pool = _pool(models)
    steps = [(ir_ifcurrexp_step(m, dt), m, n) for m, n in pool]

    def per_neuron(get, kind=dtype) -> torch.Tensor:
        return torch.as_tensor(np.concatenate([np.full(n, get(c, m)) for c, m, n in steps]), dtype=kind,
                               device=device)

    return IFCurrExpParams(
        v_inf=per_neuron(lambda c, m: c.v_inf), p22=per_neuron(lambda c, m: c.p22),
        p21_e=per_neuron(lambda c, m: c.p21_E), p21_i=per_neuron(lambda c, m: c.p21_I),
        p11_e=per_neuron(lambda c, m: c.p11_E), p11_i=per_neuron(lambda c, m: c.p11_I),
        v_thresh=per_neuron(lambda c, m: m.v_thresh), v_reset=per_neuron(lambda c, m: m.v_reset),
        refractory_steps=per_neuron(lambda c, m: c.refractory_steps, torch.int64),
        spike_scale_e=per_neuron(lambda c, m: c.spike_scale_E), spike_scale_i=per_neuron(lambda c, m: c.spike_scale_I))


def ifcurrexp_init(v0: torch.Tensor) -> IFCurrExpState:
    """The state at t = 0: ``v0`` (B, N) mV, no current, not refractory."""
    zeros = torch.zeros_like(v0)
    return IFCurrExpState(v0, zeros, zeros.clone(), torch.zeros(v0.shape, dtype=torch.int64, device=v0.device))


def ifcurrexp_step(input: tuple[torch.Tensor, torch.Tensor] | None, state: IFCurrExpState,
                   p: IFCurrExpParams, spike_fn: SpikeFn | None = None) -> tuple[torch.Tensor, IFCurrExpState]:
    """One step: update, ``v >= v_thresh``, reset, then ``input`` = (I_E, I_I) arriving (nA) enters.

    The update is the linear map of :mod:`spikemem.ir.dynamics` for neurons that
    are not refractory, written as the Brian2 backend writes it (same operations,
    same order); a refractory neuron keeps ``v`` while its currents decay.
    Returns the spikes (bool, (B, N); with ``spike_fn``: ``spike_fn(v - v_thresh, spikes)``,
    float with a surrogate gradient) and the new state.
    """
    v, i_e, i_i, refractory = state
    active = refractory == 0
    # v_inf + (v - v_inf) * p22 + p21_e * I_E - p21_I * I_I, in this order, on one fresh buffer
    moved = (v - p.v_inf).mul_(p.p22).add_(p.v_inf).add_(p.p21_e * i_e).sub_(p.p21_i * i_i)
    v = moved.where(active, v)
    i_e = i_e * p.p11_e
    i_i = i_i * p.p11_i
    refractory = refractory.where(active, refractory - 1)
    spikes = v >= p.v_thresh
    out = spikes if spike_fn is None else spike_fn(v - p.v_thresh, spikes)
    v = torch.where(spikes, p.v_reset, v)
    refractory = torch.where(spikes, p.refractory_steps, refractory)
    state = IFCurrExpState(v, i_e, i_i, refractory)
    if input is not None:
        state = ifcurrexp_receive(state, *input)
    return out, state


def ifcurrexp_receive(state: IFCurrExpState, i_e: torch.Tensor | None = None,
                      i_i: torch.Tensor | None = None) -> IFCurrExpState:
    """The state with input currents (nA, already scaled by ``spike_scale``) added to I_E and I_I."""
    return state._replace(i_e=state.i_e if i_e is None else state.i_e + i_e,
                          i_i=state.i_i if i_i is None else state.i_i + i_i)


def lif_params(models: LIF | Sequence[tuple[LIF, int]], dtype: torch.dtype = torch.float64,
               device: str | torch.device = "cpu") -> LIFParams:
    """Per-neuron parameters: one model, or ``[(model, n_neurons), ...]`` pooled in that order."""
    pool = _pool(models)

    def per_neuron(get, kind=dtype) -> torch.Tensor:
        return torch.as_tensor(np.concatenate([np.full(n, get(m)) for m, n in pool]), dtype=kind, device=device)

    return LIFParams(beta=per_neuron(lambda m: m.beta), threshold=per_neuron(lambda m: m.threshold),
                     subtract=per_neuron(lambda m: m.reset == "subtract", torch.bool))


def lif_init(mem0: torch.Tensor) -> LIFState:
    """The state at t = 0: ``mem0`` (B, N), no input waiting."""
    return LIFState(mem0, torch.zeros_like(mem0))


def lif_step(input: torch.Tensor | None, state: LIFState, p: LIFParams,
             spike_fn: SpikeFn | None = None) -> tuple[torch.Tensor, LIFState]:
    """One snnTorch ``Leaky`` step, then ``input`` (the summed weights arriving now) waits for the next one.

    ``reset = mem_prev > threshold``; ``mem = beta * mem_prev + x - reset * threshold``
    (subtract) or ``beta * mem_prev * (1 - reset) + x`` (zero); spikes where
    ``mem > threshold``: the reset of a spike acts in the next step. With ``spike_fn`` the
    spikes are ``spike_fn(mem - threshold, spikes)`` (float, surrogate gradient); the reset
    carries no gradient, as snnTorch's default (``reset_delay``) detaches it.
    """
    mem, x = state
    reset = (mem > p.threshold).to(mem.dtype)
    subtracted = p.beta * mem + x - reset * p.threshold
    zeroed = p.beta * mem * (1 - reset) + x
    mem = torch.where(p.subtract, subtracted, zeroed)
    spikes = mem > p.threshold
    out = spikes if spike_fn is None else spike_fn(mem - p.threshold, spikes)
    state = LIFState(mem, torch.zeros_like(mem))
    if input is not None:
        state = lif_receive(state, input)
    return out, state


def lif_receive(state: LIFState, x: torch.Tensor) -> LIFState:
    """The state with ``x`` (excitatory weights positive, inhibitory negative) added to the waiting input."""
    return state._replace(x=state.x + x)
