"""Plots a person would rather look at than read: rasters and weight matrices (matplotlib)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from spikemem.backends.result import Result


def raster(result: Result, populations: Sequence[str] | None = None, ax: Any = None,
           marks: Sequence[tuple[float, str]] = ()) -> Any:
    """Spike raster of ``populations`` (default: all recorded), stacked bottom to top.

    ``marks``: (time ms, label) pairs drawn as vertical lines (e.g. operation starts).
    Returns the matplotlib Axes.
    """
    import matplotlib.pyplot as plt

    names = list(populations or result.spikes)
    if ax is None:
        total = sum(result.spikes[n].size for n in names)
        _, ax = plt.subplots(figsize=(11, min(9.0, 3.0 + 0.05 * total)))
    offset, ticks = 0, []
    colors = plt.get_cmap("tab20")
    for k, name in enumerate(names):
        trains = result.spikes[name]
        ax.scatter(trains.times, trains.indices + offset, s=6, marker="|", color=colors(k % 20))
        ticks.append((offset + trains.size / 2 - 0.5, name))
        offset += trains.size
        ax.axhline(offset - 0.5, color="0.85", lw=0.5)
    for t, label in marks:
        ax.axvline(t, color="0.6", lw=0.6, ls=":")
        ax.text(t, offset, label, rotation=90, fontsize=6, va="bottom", ha="right", color="0.4")
    ax.set_yticks([y for y, _ in ticks], [n for _, n in ticks], fontsize=7)
    ax.set_ylim(-1, offset + 0.5)
    ax.set_xlim(0, result.t_stop)
    ax.set_xlabel("time (ms)")
    return ax


def weight_matrix(weights: np.ndarray, ax: Any = None, title: str = "", xlabel: str = "post",
                  ylabel: str = "pre") -> Any:
    """A (pre x post) weight matrix as an image (nA); missing synapses blank."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3))
    image = ax.imshow(np.ma.masked_invalid(weights), aspect="auto", cmap="viridis", interpolation="nearest")
    plt.colorbar(image, ax=ax, label="weight (nA)")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return ax
