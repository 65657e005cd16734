"""The shared plots are readable: titles, labelled axes with units, strong distinct band
colours, operation labels inside the axes that do not overlap, labelled weight matrices.

Everything is checked on the returned matplotlib objects against values computed here
from the inputs (band centres from population sizes, luma from the sRGB formula,
overlaps from rendered bounding boxes)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.text import Annotation  # noqa: E402

from spikemem import plotting  # noqa: E402
from spikemem.backends.result import Result, SpikeTrains  # noqa: E402

SIZES = {"INcue": 5, "INcont": 10, "CA3cueCueRecall": 5, "CA3contCondInt": 1, "CA3contCond": 10,
         "CA3MergeCue": 5, "CA3MergeCont": 10, "OUTcue": 5, "OUTcont": 10, "p9": 3, "p10": 4, "p11": 6}


def _result(sizes=SIZES, t_stop=100.0, seed=0) -> Result:
    rng = np.random.default_rng(seed)
    result = Result(t_stop=t_stop, dt=1.0)
    for name, size in sizes.items():
        n = int(rng.integers(5, 40))
        times = np.sort(rng.integers(0, int(t_stop), n).astype(float))
        result.spikes[name] = SpikeTrains(size, rng.integers(0, size, n), times)
    return result


def _luma(rgb) -> float:
    """Rec.709 luma of an sRGB colour (0 black .. 1 white)."""
    r, g, b = rgb
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _mark_labels(ax) -> list[Annotation]:
    return [c for c in ax.get_children() if isinstance(c, Annotation)]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_raster_title_and_axis_labels():
    ax = plotting.raster(_result(), title="CA3 memory, functional experiment")
    assert "CA3 memory, functional experiment" in ax.get_title()
    assert ax.get_xlabel() == "time (ms)"
    assert "neuron" in ax.get_ylabel()
    default = plotting.raster(_result(t_stop=80.0))
    assert f"{len(SIZES)} populations" in default.get_title() and "80 ms" in default.get_title()


def test_raster_names_every_band_at_its_centre():
    ax = plotting.raster(_result())
    sizes = list(SIZES.values())
    bottoms = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    np.testing.assert_allclose(ax.get_yticks(), bottoms + np.array(sizes) / 2 - 0.5)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert all(label.startswith(name) for label, name in zip(labels, SIZES))
    assert all(t.get_fontsize() >= 8 for t in ax.get_yticklabels())


def test_raster_spikes_at_their_rows():
    result = _result()
    ax = plotting.raster(result)
    offset = 0
    for name, scatter in zip(SIZES, ax.collections):
        xy = scatter.get_offsets()
        np.testing.assert_array_equal(xy[:, 0], result.spikes[name].times)
        np.testing.assert_array_equal(xy[:, 1], result.spikes[name].indices + offset)
        offset += SIZES[name]


def test_raster_band_colours_strong_and_adjacent_ones_differ():
    ax = plotting.raster(_result())
    colours = [to_rgb(c.get_edgecolor()[0]) for c in ax.collections]
    assert len(colours) == len(SIZES)
    for rgb in colours:
        assert _luma(rgb) < 0.75, rgb
        assert max(rgb) - min(rgb) > 0.2, rgb   # chroma: no greys
    for a, b in zip(colours, colours[1:]):
        assert np.linalg.norm(np.subtract(a, b)) > 0.3, (a, b)
    # the tick label of each band has its band's colour
    for tick, rgb in zip(ax.get_yticklabels(), colours):
        np.testing.assert_allclose(to_rgb(tick.get_color()), rgb)


def _check_marks_readable(ax, n_marks, top_row, allow_overlap=False):
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    labels = _mark_labels(ax)
    assert len(labels) == n_marks
    axes_box = ax.get_window_extent(renderer)
    band_top = ax.transData.transform((0, top_row))[1]   # display y of the top band's upper edge
    boxes = []
    for label in labels:
        assert label.get_fontsize() >= 8
        box = label.get_window_extent(renderer)
        assert axes_box.x0 - 0.5 <= box.x0 and box.x1 <= axes_box.x1 + 0.5, (label.get_text(), box, axes_box)
        assert band_top - 0.5 <= box.y0 and box.y1 <= axes_box.y1 + 0.5, (label.get_text(), box, axes_box)
        boxes.append(box)
    if not allow_overlap:
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                assert not boxes[i].overlaps(boxes[j]), (labels[i].get_text(), labels[j].get_text())


def test_raster_operation_labels_inside_axes_and_apart():
    rng = np.random.default_rng(3)
    t_stop = 240.0
    times = np.arange(0, 30) * 8.0   # 30 operations, 8 ms apart, as a random CAM sequence
    names = ["L", "C", "F"]
    marks = [(float(t), f"{names[k % 3]}{rng.integers(0, 128)}") for k, t in enumerate(times)]
    ax = plotting.raster(_result(t_stop=t_stop), marks=marks, title="random")
    _check_marks_readable(ax, len(marks), top_row=sum(SIZES.values()) - 0.5)


def test_raster_long_labels_and_last_one_near_the_edge():
    marks = [(t, f"RF {{{t % 7}, {t % 5}, 9}}") for t in range(0, 100, 10)] + [(99.0, "RC c12")]
    ax = plotting.raster(_result(), marks=marks)
    _check_marks_readable(ax, len(marks), top_row=sum(SIZES.values()) - 0.5)


def test_raster_labels_stay_put_after_the_cli_retitles_and_relayouts():
    """``spikemem cam --plot`` sets its own title and calls tight_layout after raster()."""
    marks = [(float(t), f"L{t}") for t in range(0, 90, 10)]
    ax = plotting.raster(_result(t_stop=90.0), marks=marks)
    ax.set_title("CA3 memory: 9/9 operations right (L = learn, C = recall by cue)", fontsize=9)
    plt.tight_layout()
    _check_marks_readable(ax, len(marks), top_row=sum(SIZES.values()) - 0.5)


def test_raster_dense_labels_stay_inside_axes():
    marks = [(float(t), f"op {t}") for t in range(0, 100, 1)]   # more than can fit apart
    ax = plotting.raster(_result(), marks=marks)
    _check_marks_readable(ax, len(marks), top_row=sum(SIZES.values()) - 0.5, allow_overlap=True)


def test_raster_on_a_given_axes():
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    ax = plotting.raster(_result(), ax=right, marks=[(10.0, "L0"), (50.0, "C0")], title="mine")
    assert ax is right and ax.get_title() == "mine" and not left.collections
    _check_marks_readable(ax, 2, top_row=sum(SIZES.values()) - 0.5)


def test_pack_rows_never_overlap():
    rng = np.random.default_rng(7)
    starts = np.sort(rng.uniform(0, 1000, 40))
    widths = rng.uniform(10, 80, 40)
    gap = 3.0
    layout = plotting._pack(starts, widths, right=1000.0, gap=gap)
    spans = [(x - w, x) if flip else (x, x + w) for x, w, flip in zip(starts, widths, layout.right_aligned)]
    assert all(hi <= 1000.0 for _, hi in spans)
    assert max(layout.rows) < plotting.MAX_MARK_ROWS
    # a label shares a row with an earlier one it overlaps only when every row was busy
    for i, ((lo, hi), row) in enumerate(zip(spans, layout.rows)):
        earlier = [(s, r) for s, r in zip(spans[:i], layout.rows[:i])]
        clash = any(r == row and s[1] + gap > lo for s, r in earlier)
        if clash:
            busy = {r for s, r in earlier if s[1] + gap > lo}
            assert busy == set(range(plotting.MAX_MARK_ROWS)), (i, busy)
    assert any(r == plotting.MAX_MARK_ROWS - 1 for r in layout.rows)   # the case was dense enough to test


def test_palette_every_pair_of_neighbours_differs():
    colours = [to_rgb(c) for c in plotting.PALETTE]
    for k, rgb in enumerate(colours):
        assert _luma(rgb) < 0.75, rgb
        assert np.linalg.norm(np.subtract(rgb, colours[(k + 1) % len(colours)])) > 0.3, k


def test_weight_matrix_labels_and_values():
    w = np.array([[0.0, 6.0, np.nan], [6.0, 0.0, 1.5]])
    ax = plotting.weight_matrix(w)
    assert ax.get_xlabel() == "post neuron" and ax.get_ylabel() == "pre neuron"
    assert "2 pre x 3 post" in ax.get_title()
    colorbars = [a for a in ax.figure.axes if a is not ax]
    assert len(colorbars) == 1 and colorbars[0].get_ylabel() == "weight (nA)"
    image = ax.images[0].get_array()
    assert image.mask[0, 2] and not image.mask[1, 2]          # the missing synapse is blank
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert cells == {(i, j): f"{v:.3g}" for (i, j), v in np.ndenumerate(w) if np.isfinite(v)}
    assert all(t.get_fontsize() >= 8 for t in ax.texts)


def test_weight_matrix_fixed_scale_and_names():
    ax = plotting.weight_matrix(np.full((4, 5), 3.0), title="p10 cue→content", xlabel="content bit",
                                ylabel="cue", vmin=0, vmax=6)
    assert ax.get_title() == "p10 cue→content"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("content bit", "cue")
    assert ax.images[0].get_clim() == (0, 6)
