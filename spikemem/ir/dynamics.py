"""Per-step update coefficients of the neuron models, shared by every backend.

An ``IFCurrExp`` step of ``dt`` is the linear map

    v   <- v_inf + (v - v_inf) * p22 + p21_E * I_E - p21_I * I_I   (unless refractory)
    I_X <- I_X * p11_X                                             (X = E, I)

with ``v_inf = v_rest + R * i_offset`` and ``R = tau_m / cm``; an input spike
of weight w (nA) then adds ``spike_scale_X * w`` to ``I_X``. The two
integration schemes differ only in ``p21`` and ``spike_scale``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from spikemem.ir.neurons import IFCurrExp


@dataclass(frozen=True)
class IFCurrExpStep:
    """Coefficients of one step (mV, nA, dimensionless)."""
    v_inf: float
    p22: float
    p11_E: float
    p11_I: float
    p21_E: float
    p21_I: float
    spike_scale_E: float
    spike_scale_I: float
    refractory_steps: int


def _p21_exact(cm: float, tau_m: float, tau_s: float, dt: float) -> float:
    """mV per nA: v response at dt to a unit current jump decaying with tau_s."""
    if math.isclose(tau_m, tau_s):
        return dt / cm * math.exp(-dt / tau_m)  # the limit tau_s -> tau_m
    return (tau_m * tau_s / (cm * (tau_m - tau_s))) * (math.exp(-dt / tau_m) - math.exp(-dt / tau_s))


def ifcurrexp_step(m: IFCurrExp, dt: float) -> IFCurrExpStep:
    """The coefficients of ``m`` for a step of ``dt`` ms under ``m.integration``."""
    r = m.tau_m / m.cm  # MOhm = mV/nA
    p22 = math.exp(-dt / m.tau_m)
    p11 = {s: math.exp(-dt / tau) for s, tau in (("E", m.tau_syn_E), ("I", m.tau_syn_I))}
    if m.integration == "exact":
        p21 = {s: _p21_exact(m.cm, m.tau_m, tau, dt) for s, tau in (("E", m.tau_syn_E), ("I", m.tau_syn_I))}
        scale = {"E": 1.0, "I": 1.0}
    else:  # fixed_step: current held over the step, spikes enter as the mean over one step
        p21 = {"E": r * (1.0 - p22), "I": r * (1.0 - p22)}
        scale = {s: tau / dt * (1.0 - p11[s]) for s, tau in (("E", m.tau_syn_E), ("I", m.tau_syn_I))}
    return IFCurrExpStep(
        v_inf=m.v_rest + r * m.i_offset, p22=p22, p11_E=p11["E"], p11_I=p11["I"],
        p21_E=p21["E"], p21_I=p21["I"], spike_scale_E=scale["E"], spike_scale_I=scale["I"],
        refractory_steps=int(round(m.tau_refrac / dt)))
