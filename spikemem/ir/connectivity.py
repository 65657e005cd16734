"""Connectors, weights and Poisson sources resolved to explicit arrays.

Every random draw comes from the network seed through one generator per
node (keyed by the node's name), so all backends build the same synapses and
receive the same Poisson spikes, and adding a node does not change the draws
of another.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from spikemem.ir.network import Network, Population, Projection
from spikemem.ir.neurons import INITIAL_STATE, Poisson
from spikemem.ir.synapses import AllToAll, FixedProbability, FromList, Normal, OneToOne, Uniform


@dataclass(frozen=True)
class Synapses:
    """Explicit synapses of one projection: pre index, post index, weight (>= 0), delay (ms)."""
    i: np.ndarray
    j: np.ndarray
    w: np.ndarray
    delay: float


def rng_for(net: Network, key: str) -> np.random.Generator:
    """A generator seeded from the network seed and ``key`` (a node name)."""
    return np.random.default_rng([net.seed, zlib.crc32(key.encode())])


def synapse_count(net: Network, proj: Projection) -> int:
    """How many synapses ``proj`` makes (without drawing weights; drawn for ``fixed_probability``)."""
    c = proj.connector
    n_pre, n_post = net.population(proj.pre).size, net.population(proj.post).size
    if isinstance(c, OneToOne):
        return n_pre
    if isinstance(c, FromList):
        return len(c.connections)
    if isinstance(c, AllToAll):
        return n_pre * n_post - (0 if c.allow_self_connections else min(n_pre, n_post))
    return len(_pairs(net, proj, n_pre, n_post, rng_for(net, f"projection:{proj.name}"))[0])


def connect(net: Network, proj: Projection) -> Synapses:
    """The synapses of ``proj``, in the connector's order (row-major over pre, then post)."""
    n_pre, n_post = net.population(proj.pre).size, net.population(proj.post).size
    c = proj.connector
    rng = rng_for(net, f"projection:{proj.name}")
    i, j = _pairs(net, proj, n_pre, n_post, rng)
    w = _weights(proj, len(i), rng)
    return Synapses(i=np.asarray(i, dtype=np.int64), j=np.asarray(j, dtype=np.int64), w=w,
                    delay=proj.delay)


def _pairs(net: Network, proj: Projection, n_pre: int, n_post: int,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Pre and post indices in the connector's order (draws from ``rng`` for fixed_probability)."""
    c = proj.connector
    if isinstance(c, OneToOne):
        return np.arange(n_pre), np.arange(n_pre)
    if isinstance(c, FromList):
        pairs = np.asarray(c.connections, dtype=np.int64).reshape(-1, 2)
        return pairs[:, 0], pairs[:, 1]
    ii, jj = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
    keep = np.ones((n_pre, n_post), dtype=bool)
    if isinstance(c, FixedProbability):
        keep = rng.random((n_pre, n_post)) < c.p
    if isinstance(c, (AllToAll, FixedProbability)) and not c.allow_self_connections:
        keep &= ii != jj
    return ii[keep], jj[keep]


def _weights(proj: Projection, n: int, rng: np.random.Generator) -> np.ndarray:
    w = proj.weight
    if isinstance(w, Normal):
        return np.abs(rng.normal(w.mean, w.std, n))  # the receptor gives the sign
    if isinstance(w, Uniform):
        return rng.uniform(w.low, w.high, n)
    if isinstance(w, (list, tuple, np.ndarray)):
        if len(w) != n:
            raise ValueError(f"projection '{proj.name}'.weight: the list has {len(w)} values "
                             f"but the connector makes {n} synapses")
        return np.asarray(w, dtype=float)
    return np.full(n, float(w))


def initial_values(net: Network, pop: Population) -> np.ndarray:
    """The initial state of every neuron of ``pop`` (mV for ``v_init``, ``mem_init`` as is).

    A distribution is drawn from the network seed (one generator per population,
    so adding a node does not change the draws of another); a normal
    distribution is not folded like weights are: a membrane can start anywhere.
    """
    value = getattr(pop.model, INITIAL_STATE[type(pop.model)])
    if isinstance(value, Normal):
        return rng_for(net, f"initial:{pop.name}").normal(value.mean, value.std, pop.size)
    if isinstance(value, Uniform):
        return rng_for(net, f"initial:{pop.name}").uniform(value.low, value.high, pop.size)
    if isinstance(value, (list, tuple, np.ndarray)):
        return np.asarray(value, dtype=float).reshape(pop.size)
    return np.full(pop.size, float(value))


def poisson_times(model: Poisson, size: int, dt: float, t0: float, t1: float,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Poisson spikes of one population in [t0, t1) ms on the dt grid: (indices, times ms).

    Draws one uniform number per (step, neuron) in time order from ``rng``
    (``rng_for(net, "population:NAME")``), so running [0, a) then [a, b)
    gives the same spikes as running [0, b).
    """
    first, last = int(round(t0 / dt)), int(round(t1 / dt))
    t = np.arange(first, last) * dt
    active = t >= model.start
    if model.duration is not None:
        active &= t < model.start + model.duration
    hits = (rng.random((len(t), size)) < model.rate * dt / 1000.0) & active[:, None]
    steps, idx = np.nonzero(hits)
    return idx, t[steps]
