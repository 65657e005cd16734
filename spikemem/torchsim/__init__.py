"""Spiking-network steps on torch tensors, in Norse's style.

Every step is a function ``step(input, state, params) -> (output, state)`` on
tensors with a leading batch axis (B independent trials), with ``state`` and
``params`` as small NamedTuples. The arithmetic is the IR's, shared with every
other backend: neuron coefficients come from :mod:`spikemem.ir.dynamics`, the
pair rule follows :mod:`spikemem.ir.plasticity` operation for operation, so a
network stepped here gives Brian2's spikes (``spikemem.backends.torch_backend``
drives these steps from a description).

- :mod:`.neurons`: ``IFCurrExp`` (both integration schemes) and ``LIF``
  (snnTorch ``Leaky`` semantics).
- :mod:`.synapses`: synaptic products (one-to-one, dense, torch sparse) and
  delay rings in steps.
- :mod:`.stdp`: the pair rule with its learning gate.

Importing this package imports torch; ``import spikemem`` does not.
"""
from spikemem.torchsim.neurons import (IFCurrExpParams, IFCurrExpState, LIFParams, LIFState, ifcurrexp_init,
                                       ifcurrexp_params, ifcurrexp_receive, ifcurrexp_step, lif_init, lif_params,
                                       lif_receive, lif_step)
from spikemem.torchsim.stdp import (PairRuleParams, PairRuleState, episode_open, open_gate, pair_rule_init,
                                    pair_rule_params, post_events, pre_events, relayout, stdp_step)
from spikemem.torchsim.synapses import DelayRing, delay_ring, product, ring_deliver, ring_send, synaptic_matrix

__all__ = ["IFCurrExpParams", "IFCurrExpState", "LIFParams", "LIFState", "ifcurrexp_init", "ifcurrexp_params",
           "ifcurrexp_receive", "ifcurrexp_step", "lif_init", "lif_params", "lif_receive", "lif_step",
           "PairRuleParams", "PairRuleState", "episode_open", "open_gate", "pair_rule_init", "pair_rule_params",
           "post_events", "pre_events", "relayout", "stdp_step", "DelayRing", "delay_ring", "product", "ring_deliver",
           "ring_send", "synaptic_matrix"]
