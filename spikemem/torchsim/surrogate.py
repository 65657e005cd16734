"""Surrogate gradients for spikes, by snnTorch's names, from snnTorch's own functions.

``spike_function("atan")`` returns a :data:`~spikemem.torchsim.neurons.SpikeFn`:
its forward value is the exact spike test of the neuron step (so a differentiable
run has the same spikes as a plain one), its gradient is that of snnTorch's
``snntorch.surrogate.<name>()`` at the membrane minus the threshold.
"""
from __future__ import annotations

import torch

from spikemem.torchsim.neurons import SpikeFn

#: snnTorch's surrogate functions that take their defaults (``snntorch.surrogate.<name>()``)
NAMES = ("atan", "fast_sigmoid", "sigmoid", "triangular", "straight_through_estimator")


def spike_function(name: str = "atan") -> SpikeFn:
    """The spike function with snnTorch's surrogate ``name`` (one of :data:`NAMES`)."""
    if name not in NAMES:
        raise ValueError(f"surrogate: unknown name {name!r}; snnTorch's surrogates here: {', '.join(NAMES)}")
    from snntorch import surrogate

    smooth = getattr(surrogate, name)()

    def spike(x: torch.Tensor, spikes: torch.Tensor) -> torch.Tensor:
        s = smooth(x)
        return spikes.to(x.dtype) + (s - s.detach())

    return spike
