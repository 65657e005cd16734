"""What a projection's delay means, as the one number every backend uses.

A description states its ``delay_convention`` (:class:`~spikemem.ir.network.Network`);
backends never read ``Projection.delay`` directly but the arrival time below, and
subtract what their engine adds on its own.
"""
from __future__ import annotations

from spikemem.ir.network import Network, Projection


def delay_steps(net: Network, proj: Projection) -> int:
    """The projection's delay as a whole number of steps of ``net.dt``."""
    return int(round(proj.delay / net.dt))


def arrival_steps(net: Network, proj: Projection) -> int:
    """Steps from a source spike (step t) to the earliest step its target can fire.

    ``"pynn"``: d + 1 (the spike arrives after d steps and enters the target's next
    update, as on NEST and in Brian2); ``"spinnaker"``: d.
    """
    d = delay_steps(net, proj)
    return d + 1 if net.delay_convention == "pynn" else d
