"""Synaptic products and delays in steps.

A projection's weights are a :class:`SynapticMatrix`: a vector for one-to-one
connections, a dense (n_pre, n_post) matrix, or a torch sparse (COO) matrix of
its transpose when fewer than :data:`SPARSE_BELOW` of the pairs are connected.
``product(spikes, matrix)`` is the input (B, n_post) that the spikes (B, n_pre)
send through it.

A :class:`DelayRing` holds the input in flight to one target pool: what a
projection sends at step t with a pathway delay of D steps (``arrival_steps - 1``:
the target's update of the next step then sees it) waits in slot (t + D) % L and
is delivered at step t + D.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

#: below this fraction of connected pairs a static projection is stored as a torch sparse matrix
SPARSE_BELOW = 0.1


class SynapticMatrix(NamedTuple):
    """Weights of one static projection (nA, already signed and scaled for the target).

    ``kind``: ``"diag"`` (one-to-one: ``data`` is (n,)), ``"dense"`` (``data`` is
    (n_pre, n_post)) or ``"sparse"`` (``data`` is the sparse transpose, (n_post, n_pre)).
    """
    kind: str
    data: torch.Tensor
    n_pre: int
    n_post: int


def synaptic_matrix(i: np.ndarray, j: np.ndarray, w: np.ndarray, n_pre: int, n_post: int, one_to_one: bool = False,
                    dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> SynapticMatrix:
    """The matrix of synapses ``i -> j`` with weights ``w``; two synapses on one pair add up."""
    if one_to_one:
        diag = np.zeros(n_pre)
        np.add.at(diag, i, w)
        return SynapticMatrix("diag", torch.as_tensor(diag, dtype=dtype, device=device), n_pre, n_post)
    dense = np.zeros((n_pre, n_post))
    np.add.at(dense, (i, j), w)
    if np.count_nonzero(dense) < SPARSE_BELOW * n_pre * n_post:
        t = torch.as_tensor(dense.T.copy(), dtype=dtype, device=device).to_sparse().coalesce()
        return SynapticMatrix("sparse", t, n_pre, n_post)
    return SynapticMatrix("dense", torch.as_tensor(dense, dtype=dtype, device=device), n_pre, n_post)


def product(spikes: torch.Tensor, m: SynapticMatrix, pairs: torch.Tensor | None = None) -> torch.Tensor:
    """The input (B, n_post) that ``spikes`` (bool, (B, n_pre)) send through ``m``.

    ``pairs`` (optional) is ``spikes.nonzero()``, when the caller has it: with
    few spikes a dense matrix adds up the rows of the neurons that fired instead
    of multiplying a mostly-zero matrix.
    """
    if m.kind == "diag":
        return torch.where(spikes, m.data, torch.zeros((), dtype=m.data.dtype, device=m.data.device))
    if m.kind == "sparse":
        return torch.sparse.mm(m.data, spikes.to(m.data.dtype).T).T
    if pairs is None:
        pairs = spikes.nonzero()
    if 4 * len(pairs) > spikes.numel():  # many spikes: one matrix product is cheaper than the gathers
        return spikes.to(m.data.dtype) @ m.data
    return add_rows(spikes.shape[0], pairs[:, 0], m.data[pairs[:, 1]])


def add_rows(batch: int, trials: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """(batch, n): ``rows[k]`` added into row ``trials[k]``, one after another in k's order.

    An accumulating ``index_put_`` runs serially on the CPU: ``index_add_`` wakes torch's
    intra-op threads for every call, which stalls on a busy machine.
    """
    out = torch.zeros((batch, rows.shape[1]), dtype=rows.dtype, device=rows.device)
    return out.index_put_((trials,), rows, accumulate=True)


class DelayRing(NamedTuple):
    """Input in flight to one pool (one buffer per receptor channel): (L, B, N) each."""
    buffers: tuple[torch.Tensor, ...]


def delay_ring(max_delay: int, batch: int, size: int, channels: int = 1, dtype: torch.dtype = torch.float64,
               device: str | torch.device = "cpu") -> DelayRing:
    """An empty ring for pathway delays of 0 to ``max_delay`` steps."""
    return DelayRing(tuple(torch.zeros((max_delay + 1, batch, size), dtype=dtype, device=device)
                           for _ in range(channels)))


def ring_send(ring: DelayRing, t: int, delay: int, channel: int, columns: slice, value: torch.Tensor) -> DelayRing:
    """Add ``value`` (B, n) sent at step ``t`` to the slot delivered at ``t + delay``, in place."""
    buf = ring.buffers[channel]
    buf[(t + delay) % buf.shape[0], :, columns] += value
    return ring


def ring_deliver(ring: DelayRing, t: int, channel: int, onto: torch.Tensor) -> torch.Tensor:
    """``onto`` plus what arrives at step ``t`` on ``channel``; the slot is emptied (in place)."""
    buf = ring.buffers[channel]
    slot = buf[t % buf.shape[0]]
    out = onto + slot
    slot.zero_()
    return out
