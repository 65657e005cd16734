"""Plots a person can read: spike rasters and weight matrices (matplotlib).

Shared by ``spikemem cam --plot``, ``spikemem run --plot`` and the notebooks. Both
functions return the matplotlib Axes they drew on (``ax.figure`` is the Figure).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from spikemem.backends.result import Result

# tab10 without its grey: nine strong, distinct hues (Rec.709 luma of each < 0.75 on
# white). Cycling nine colours keeps adjacent bands different for any population count.
# The order keeps similar hues (blue/cyan, red/pink/brown) apart, also across the wrap.
PALETTE: tuple[str, ...] = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                            "#bcbd22", "#17becf", "#8c564b", "#e377c2")
MARK_FONTSIZE = 8.5   # pt; operation labels
TICK_FONTSIZE = 9     # pt; population names
MAX_MARK_ROWS = 4     # label rows above the bands before labels start to share a row


def population_color(k: int) -> str:
    """The colour of the k-th population band (hex)."""
    return PALETTE[k % len(PALETTE)]


def raster(result: Result, populations: Sequence[str] | None = None, ax: Any = None,
           marks: Sequence[tuple[float, str]] = (), title: str | None = None) -> Any:
    """Spike raster of ``populations`` (default: all recorded), stacked bottom to top.

    Each population is a band of rows (one row per neuron), in its own colour, with its
    name as the y tick label at the band centre. ``marks``: (time ms, label) pairs, drawn
    as dotted vertical lines with their labels packed into rows above the bands, so that
    no two labels overlap. ``title`` defaults to a summary (populations, neurons, ms);
    callers pass the model or experiment name. Returns the matplotlib Axes.
    """
    import matplotlib.pyplot as plt

    names = list(populations or result.spikes)
    sizes = [result.spikes[n].size for n in names]
    total = int(sum(sizes))
    own_figure = ax is None
    if own_figure:
        height = min(9.0, max(4.5, 3.0 + 0.05 * total, 1.2 + 0.3 * len(names)))
        _, ax = plt.subplots(figsize=(11, height))
    if title is None:
        title = f"Spike raster: {len(names)} populations, {total} neurons, {result.t_stop:g} ms"
    ax.set_title(title, fontsize=11)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("population (one row per neuron)")
    ax.set_xlim(0, result.t_stop)
    ax.set_ylim(-0.5, max(total, 1) - 0.5)
    if own_figure:
        ax.figure.tight_layout()   # final axes size, so marker and label sizes below fit it

    row_pt = _axes_px(ax)[1] / max(total, 1) * 72.0 / ax.figure.dpi
    size_pt = float(np.clip(0.8 * row_pt, 2.5, 8.0))   # a tick as tall as most of a row
    offset, ticks = 0, []
    for k, (name, size) in enumerate(zip(names, sizes)):
        trains = result.spikes[name]
        if k % 2:  # shade every second band so the boundaries read at a glance
            ax.axhspan(offset - 0.5, offset + size - 0.5, color="0.94", lw=0, zorder=0)
        ax.scatter(trains.times, trains.indices + offset, s=size_pt ** 2, marker="|",
                   linewidths=float(np.clip(size_pt / 4, 1.0, 1.8)), color=population_color(k), zorder=2)
        ticks.append(offset + size / 2 - 0.5)
        offset += size
        if k < len(names) - 1:
            ax.axhline(offset - 0.5, color="0.55", lw=0.7, zorder=1)
    ax.set_yticks(ticks, [f"{n} ({s})" for n, s in zip(names, sizes)], fontsize=TICK_FONTSIZE)
    for k, label in enumerate(ax.get_yticklabels()):
        label.set_color(population_color(k))
    ax.tick_params(axis="y", length=0)
    ax.margins(x=0)
    if marks:
        _draw_marks(ax, marks, top=offset - 0.5)
    return ax


@dataclass(frozen=True)
class _Layout:
    rows: list[int]          # label row of each mark (0 = top)
    right_aligned: list[bool]  # labels that would run past the right edge end at their line


def _axes_px(ax: Any) -> tuple[float, float]:
    """Width and height of the axes (pixels)."""
    box = ax.get_window_extent()
    return float(box.width), float(box.height)


def _text_width_px(ax: Any, label: str, fontsize: float) -> float:
    """Rendered width of ``label`` (pixels), measured when the canvas can, else estimated."""
    fig = ax.figure
    try:
        renderer = fig.canvas.get_renderer()
        text = ax.text(0, 0, label, fontsize=fontsize)
        width = float(text.get_window_extent(renderer).width)
        text.remove()
        return width
    except AttributeError:   # a canvas without a renderer: 0.62 em per character (DejaVu Sans)
        return 0.62 * fontsize * len(label) * fig.dpi / 72.0


def _pack(starts: Sequence[float], widths: Sequence[float], right: float, gap: float) -> _Layout:
    """Rows for labels starting at ``starts`` (px, sorted), first row where each fits.

    A label that would cross ``right`` ends at its start instead. When every row is
    taken, a label goes to the row that frees up first (it may then overlap).
    """
    ends: list[float] = []   # right end of the last label in each row (px)
    rows, flipped = [], []
    for x, w in zip(starts, widths):
        flip = x + w > right
        lo, hi = (x - w, x) if flip else (x, x + w)
        row = next((r for r, end in enumerate(ends) if end + gap <= lo), None)
        if row is None and len(ends) < MAX_MARK_ROWS:
            ends.append(-np.inf)
            row = len(ends) - 1
        if row is None:
            row = int(np.argmin(ends))
        ends[row] = hi
        rows.append(row)
        flipped.append(flip)
    return _Layout(rows, flipped)


def _draw_marks(ax: Any, marks: Sequence[tuple[float, str]], top: float) -> None:
    """Dotted lines at the mark times; labels in rows in a band added above ``top`` (data y)."""
    marks = sorted(marks, key=lambda m: m[0])
    x0, x1 = ax.get_xlim()
    width_px, height_px = _axes_px(ax)
    px_per_ms = width_px / (x1 - x0)
    starts = [(t - x0) * px_per_ms for t, _ in marks]
    pad_px = 3.0 * ax.figure.dpi / 72.0   # the label's offset from its line
    widths = [_text_width_px(ax, label, MARK_FONTSIZE) + pad_px for _, label in marks]
    layout = _pack(starts, widths, right=width_px, gap=pad_px)

    # Grow the y range so the label rows sit above the top band, inside the axes.
    line_px = 1.6 * MARK_FONTSIZE * ax.figure.dpi / 72.0
    band_px = min((max(layout.rows) + 1) * line_px + pad_px, 0.45 * height_px)
    bottom = ax.get_ylim()[0]
    span = top - bottom
    head = span * band_px / (height_px - band_px)
    ax.set_ylim(bottom, top + head)
    ax.axhline(top, color="0.55", lw=0.7, zorder=1)
    to_pt = 72.0 / ax.figure.dpi
    for (t, label), row, flip in zip(marks, layout.rows, layout.right_aligned):
        ax.axvline(t, color="0.35", lw=0.8, ls=":", zorder=1)
        # Placed in points below the top edge: a later tight_layout or title moves nothing.
        dy = -(pad_px / 2 + (row + 0.5) * line_px) * to_pt
        ax.annotate(label, (t, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(-2 if flip else 2, dy), textcoords="offset points",
                    ha="right" if flip else "left", va="center", fontsize=MARK_FONTSIZE,
                    color="0.1", zorder=3, annotation_clip=False)


def weight_matrix(weights: np.ndarray, ax: Any = None, title: str | None = None,
                  xlabel: str = "post neuron", ylabel: str = "pre neuron",
                  vmin: float | None = None, vmax: float | None = None,
                  annotate: bool | None = None) -> Any:
    """A (pre x post) weight matrix (nA) as an image; missing synapses (NaN) blank.

    Rows are pre neurons, columns post neurons, with a colourbar "weight (nA)".
    ``vmin``/``vmax`` fix the colour scale (nA) so several matrices compare.
    ``annotate`` writes each value in its cell (default: for matrices up to 150 cells).
    Returns the matplotlib Axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    weights = np.asarray(weights, dtype=float)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5), constrained_layout=True)
    image = ax.imshow(np.ma.masked_invalid(weights), aspect="auto", cmap="viridis", interpolation="nearest",
                      vmin=vmin, vmax=vmax)
    ax.figure.colorbar(image, ax=ax, label="weight (nA)")
    if title is None:
        title = f"weights, {weights.shape[0]} pre x {weights.shape[1]} post"
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if annotate is None:
        annotate = weights.size <= 150
    if annotate:
        lo, hi = image.get_clim()
        for (i, j), w in np.ndenumerate(weights):
            if np.isfinite(w):
                # viridis is dark below ~60 % of the scale (and everywhere on a flat one)
                dark = hi <= lo or (w - lo) / (hi - lo) < 0.6
                ax.text(j, i, f"{w:.3g}", ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
    return ax
