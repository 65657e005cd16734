"""The model description: typed dataclasses, validation and (de)serialisation."""
from spikemem.ir.io import dump, dumps, from_dict, load, loads, to_dict
from spikemem.ir.network import Network, Population, Probe, Projection, validate
from spikemem.ir.neurons import LIF, IFCurrExp, Poisson, SpikeSource
from spikemem.ir.synapses import (STDP, Additive, AllToAll, FixedProbability, FromList,
                                  LearningGate, Multiplicative, Normal, OneToOne, SpikePair,
                                  Static, Uniform)

__all__ = [
    "Network", "Population", "Projection", "Probe", "validate",
    "IFCurrExp", "LIF", "SpikeSource", "Poisson",
    "OneToOne", "AllToAll", "FixedProbability", "FromList", "Normal", "Uniform",
    "Static", "STDP", "SpikePair", "Additive", "Multiplicative", "LearningGate",
    "load", "loads", "dump", "dumps", "from_dict", "to_dict",
]
