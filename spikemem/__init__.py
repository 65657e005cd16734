"""spikemem: one spiking-network description, several engines.

>>> import spikemem
>>> net = spikemem.load("models/ca3_cam.yaml")
>>> sim = spikemem.compile(net, backend="brian2")

Importing spikemem needs numpy and PyYAML only; engines load on first use.
"""
from spikemem.backends import compile, supporting
from spikemem.backends.result import Result, SpikeTrains
from spikemem.errors import DescriptionError, MissingEngine, SpikememError, UnsupportedFeature
from spikemem.ir import *  # noqa: F401,F403  the description types
from spikemem.ir import __all__ as _ir_all

__version__ = "0.1.0"
__all__ = ["compile", "supporting", "Result", "SpikeTrains", "DescriptionError",
           "MissingEngine", "SpikememError", "UnsupportedFeature", *_ir_all]
