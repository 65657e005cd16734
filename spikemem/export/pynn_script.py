"""Write a description as a standalone PyNN script (pyNN.nest or pyNN.spiNNaker).

The script needs only PyNN, numpy and the standard library, so a user can take
it to a machine with a SpiNNaker board. It builds exactly the network of the
PyNN plan (:mod:`spikemem.backends.pynn_plan`), which the PyNN backend builds
too: the same delays, spike-time shift and synapses, and Poisson spikes drawn
here from the network seed as every backend draws them. Run as
``python OUT.py --spikes spikes.json``, it writes the recorded spikes in the
description's time, ``{population: {"indices": [...], "times": [...]}}``.

Connection lists and spike lists longer than :data:`INLINE_LIMIT` go to
``OUT.npz`` next to the script (read relative to the script's own file);
shorter ones are written inline. The output has no date, so the same
network gives the same files.
"""
from __future__ import annotations

import dataclasses
import io
import textwrap
import zipfile
from pathlib import Path

import numpy as np

from spikemem.backends.pynn_plan import APPROXIMATIONS, CellPlan, Plan, ProjectionPlan, plan
from spikemem.errors import UnsupportedFeature
from spikemem.ir.connectivity import poisson_times, rng_for
from spikemem.ir.network import Network

#: ``simulator`` argument -> PyNN plan engine
SIMULATORS: dict[str, str] = {"nest": "pynn.nest", "spiNNaker": "pynn.spinnaker"}

#: lists with more entries than this (synapses, or spikes of a source) go to the .npz file
INLINE_LIMIT = 50

_WIDTH = 100   # line width of inline lists
_INDENT = "    "


def write_script(net: Network, path: str | Path, simulator: str = "nest", duration: float | None = None,
                 approximations: tuple[str, ...] | frozenset[str] = ()) -> Path:
    """Write ``net`` as a PyNN script at ``path``; return its path.

    ``simulator``: ``"nest"`` or ``"spiNNaker"`` (the fixed-step engine, 1 ms
    step). ``duration`` (ms) defaults to ``net.params["duration"]``; the
    script runs that long, and Poisson spikes are drawn for it.
    ``approximations``: names from :data:`~spikemem.backends.pynn_plan.APPROXIMATIONS`
    the user accepts. Raises :class:`UnsupportedFeature` for what the engine,
    or a script without spikemem, cannot run as described.
    """
    path = Path(path)
    engine = _engine_name(simulator)
    t_stop = _duration(net, duration)
    p = plan(net, engine, tuple(approximations))
    _refuse_host_plasticity(net, p)
    _refuse_inhibitory_stdp(p)
    p = _with_source_spikes(net, p, t_stop)
    data: dict[str, np.ndarray] = {}
    data_file = path.with_suffix(".npz")
    text = _Writer(p, t_stop, tuple(approximations), data, data_file.name).script(net.description)
    path.write_text(text)
    if data:
        _save_npz(data_file, data)
    return path


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez_compressed`` with fixed file dates, so the same network gives the same bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())


def _engine_name(simulator: str) -> str:
    if simulator not in SIMULATORS:
        raise ValueError(f"simulator must be one of {', '.join(map(repr, SIMULATORS))}, got {simulator!r}")
    return SIMULATORS[simulator]


def _duration(net: Network, duration: float | None) -> float:
    """The run time (ms): the argument, else the description's ``duration`` param."""
    if duration is None:
        duration = net.params.get("duration")
    if duration is None:
        raise ValueError(f"write_script needs the time to simulate: pass duration=<ms>, or give network "
                         f"'{net.name}' a 'duration' param (params: {sorted(net.params) or 'none'})")
    steps = duration / net.dt
    if duration <= 0 or abs(steps - round(steps)) > 1e-9:
        raise ValueError(f"duration must be a positive whole number of steps of {net.dt} ms, got {duration}")
    return float(duration)


def _refuse_host_plasticity(net: Network, p: Plan) -> None:
    """The one thing a plan can hold that a standalone script cannot run: a rule the host runs.

    The PyNN backend runs gated rules on every engine, and every pair rule on NEST
    (whose ``stdp_synapse`` differs from the IR where pre and post events meet in one
    step), with spikemem's own rule between one-step runs; a script without spikemem
    has no such code.
    """
    for k, proj in enumerate(p.projections):
        if not proj.host_plastic:
            continue
        gated = net.projection(proj.name).synapse.gate is not None
        node = f"projections[{k}] ({proj.name}).synapse" + (".gate" if gated else "")
        feature = "a LearningGate" if gated else f"an STDP rule on {p.engine.module}"
        why = ("no PyNN engine has a gated pair rule" if gated else
               "NEST's stdp_synapse applies neither change when a pre and a post event meet in one step")
        raise UnsupportedFeature(
            node, feature, "pynn-script",
            f"{why}: spikemem's PyNN backend runs it on the host between one-step runs, which a script "
            f"without spikemem cannot do. Run the network through spikemem instead "
            f"(spikemem.compile(net, backend='pynn.nest')), or export for spiNNaker")


def _refuse_inhibitory_stdp(p: Plan) -> None:
    """STDP onto an inhibitory receptor is not written yet: its weights are signed for the engine."""
    for k, proj in enumerate(p.projections):
        if proj.stdp is not None and proj.receptor_type == "inhibitory":
            raise UnsupportedFeature(
                f"projections[{k}] ({proj.name}).receptor", "STDP onto an inhibitory receptor", "pynn-script",
                "PyNN's NEST and Brian2 modules want current-based inhibitory weights negative, and NEST's "
                "STDP then needs negative bounds too; this exporter does not translate that yet: make the "
                "projection excitatory or static")


def _with_source_spikes(net: Network, p: Plan, t_stop: float) -> Plan:
    """``p`` with every Poisson population's spikes drawn for [0, t_stop), as the backends draw them,
    and every source's times rounded to 1e-9 ms (0.4, not 0.30000000000000004 + 0.1)."""
    shift = p.time_shift * p.dt
    cells = []
    for cell in p.populations:
        times = cell.spike_times
        if cell.poisson:
            pop = net.population(cell.name)
            idx, t = poisson_times(pop.model, pop.size, p.dt, 0.0, t_stop, rng_for(net, f"population:{pop.name}"))
            times = [t[idx == k] + shift for k in range(pop.size)]
        if times is not None:
            cell = dataclasses.replace(cell, spike_times=[np.round(np.asarray(n, float), 9).tolist() for n in times])
        cells.append(cell)
    return dataclasses.replace(p, populations=cells)


# -- formatting ----------------------------------------------------------------


def _num(x: float) -> str:
    """A time or delay (ms) on the grid, without float noise such as 0.30000000000000004."""
    return repr(round(float(x), 9))


def _wrapped(items: list[str], indent: str, open_: str = "[", close: str = "]") -> str:
    """``items`` as a bracketed list broken into lines of at most :data:`_WIDTH` characters."""
    if not items:
        return open_ + close
    one_line = open_ + ", ".join(items) + close
    if len(indent) + len(one_line) <= _WIDTH - 20:
        return one_line
    lines, line = [], ""
    inner = indent + _INDENT
    for item in items:
        if line and len(inner) + len(line) + len(item) + 2 > _WIDTH:
            lines.append(line.rstrip())
            line = ""
        line += item + ", "
    lines.append(line.rstrip().rstrip(","))
    return open_ + "\n" + "\n".join(inner + ln for ln in lines) + "\n" + indent + close


def _docstring_safe(text: str) -> str:
    """``text`` that cannot end or escape out of the script's docstring."""
    return text.replace("\\", "\\\\").replace('"""', "'''")


def _kwargs(values: dict[str, object]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in values.items())


def _uniform(weights: np.ndarray) -> bool:
    return len(weights) == 0 or bool(np.all(weights == weights[0]))


def _steps(n: int) -> str:
    return f"{n} step{'s' if n != 1 else ''}"


def _timing_note(p: Plan) -> str:
    """The engine's timing convention, relative to the description's, for the script's header."""
    e = p.engine
    out = ("Timing: in the description, a spike in step t through a delay of d steps can make its target "
           "fire in step t + d at the earliest (SpiNNaker's convention).")
    if e.delay_offset == 0 and p.time_shift == 0:
        return out + f" {e.module} works the same way: delays and spike times are as in the description."
    if e.delay_offset:
        out += (f" {e.module} adds {_steps(e.delay_offset)} per connection on top of its delay, so every "
                f"delay below is {_steps(e.delay_offset)} shorter than in the description.")
    if e.time_shift:
        out += (f" It stamps a spike at the end of its step, so an input spike is played "
                f"{_steps(e.time_shift)} late.")
    if p.lead_steps:
        out += (f" PyNN relays source spikes through parrot neurons one step late, so an input in the first "
                f"step needs the engine to start {_steps(p.lead_steps)} before the description's time 0 "
                f"(LEAD); the neurons' initial v is the value that this lead carries to the description's.")
    if p.time_shift:
        out += (f" Altogether, source spike times below are {_steps(p.time_shift)} later than in the "
                f"description, and recorded spike times are moved back by as much before they are written "
                f"(TIME_SHIFT).")
    return out


class _Writer:
    """Renders one plan as script text; long arrays go into ``data`` (the .npz file's contents)."""

    def __init__(self, p: Plan, t_stop: float, approximations: tuple[str, ...],
                 data: dict[str, np.ndarray], data_file: str):
        self.p, self.t_stop, self.approximations = p, t_stop, approximations
        self.data, self.data_file = data, data_file

    def script(self, description: str) -> str:
        body = [self._build(), self._read_spikes(), self._main()]
        head = [self._docstring(description), self._imports(), self._constants()]
        if self._nudges_spikes():
            head.append(_PLAYABLE_FUNCTION)
        if any(c.spike_times is not None and self._spikes_to_data(c) for c in self.p.populations):
            head.append(_SPIKE_LISTS_FUNCTION)
        return "\n".join(head) + "\n\n" + "\n\n\n".join(body) + '\n\n\nif __name__ == "__main__":\n    main()\n'

    # -- header ----------------------------------------------------------------

    def _docstring(self, description: str) -> str:
        e, p = self.p.engine, self.p
        paragraphs = [f"Network '{p.network}' as a standalone PyNN script for {e.module}, written by spikemem."]
        if description:
            paragraphs.append(_docstring_safe(description.strip()))
        paragraphs.append(f"Engine: {e.module} (spikemem's '{e.name}' plan), step {p.dt} ms, {self.t_stop} ms "
                          f"simulated. IF_curr_exp is integrated with the engine's '{e.integration}' scheme.")
        paragraphs.append(_timing_note(p))
        if self.approximations:
            paragraphs.append("Approximations accepted when exporting: " + "; ".join(
                f"'{a}' ({APPROXIMATIONS[a]})" for a in sorted(self.approximations)) + ".")
        if any(c.poisson for c in p.populations):
            paragraphs.append("Poisson populations are spike arrays drawn from the network seed for the whole run: "
                              "the same spikes spikemem's backends receive.")
        signs = (f"Inhibitory weights are negative, as {e.module} wants them for current-based synapses"
                 if e.inhibitory_sign < 0 else f"Weights are >= 0 for {e.module}: receptor_type gives the sign")
        paragraphs.append(f"Units: ms, mV, nA, nF. {signs} (the description gives magnitudes and a receptor).")
        paragraphs.append('Usage: python SCRIPT.py [--spikes SPIKES.json] writes {population: {"indices": [...], '
                          '"times": [...]}} (ms, description time) for every population recorded for spikes, '
                          "or prints a summary per population.")
        text = "\n\n".join(textwrap.fill(par, _WIDTH - 4, break_long_words=False, break_on_hyphens=False)
                            for par in paragraphs)
        return f'"""{text}\n"""\n'

    def _imports(self) -> str:
        return ("import argparse\nimport json\nfrom pathlib import Path\n\nimport numpy as np\n"
                f"import {self.p.engine.module} as sim\n")

    def _constants(self) -> str:
        e = self.p.engine
        lines = [f"DT = {self.p.dt!r}  # ms, simulation step",
                 f"DURATION = {self.t_stop!r}  # ms, in the description's time",
                 f"LEAD = {_num(self.p.lead_steps * self.p.dt)}  # ms the engine runs before the description's "
                 f"time 0",
                 f"TIME_SHIFT = {_num(self.p.time_shift * self.p.dt)}  # ms: {e.module} spike time = "
                 f"description time + TIME_SHIFT"]
        if self._nudges_spikes():
            lines += ["# pyNN.nest plays a source's spikes from a spike_generator min_delay early, and NEST moves a",
                      "# time that float rounding leaves a hair past a step (4.4 - 0.1 = 4.300000000000001) into",
                      "# the next step: each source spike is played a millionth of a step early, on its own step.",
                      f"EARLY = {self.p.dt * 1e-6!r}  # ms"]
        if self._needs_data():
            lines.append(f'DATA = np.load(Path(__file__).with_name("{self.data_file}"))  '
                         f"# long connection and spike lists")
        return "\n".join(lines) + "\n"

    def _nudges_spikes(self) -> bool:
        return self.p.engine.module == "pyNN.nest" and any(c.spike_times is not None for c in self.p.populations)

    def _needs_data(self) -> bool:
        return any(len(pr.connections) > INLINE_LIMIT for pr in self.p.projections) or \
            any(c.spike_times is not None and self._spikes_to_data(c) for c in self.p.populations) or \
            any(self._initial_v_to_data(c) for c in self.p.populations)

    @staticmethod
    def _spikes_to_data(cell: CellPlan) -> bool:
        return sum(len(t) for t in cell.spike_times or []) > INLINE_LIMIT

    # -- building ----------------------------------------------------------------

    def _build(self) -> str:
        ind = _INDENT
        lines = ["def build() -> dict:",
                 f'{ind}"""Set up {self.p.engine.module}, create every population and projection, start recording;',
                 f'{ind}return the populations by label."""',
                 f"{ind}sim.setup({_kwargs(self.p.setup)})",
                 f"{ind}pops = {{}}"]
        for cell in self.p.populations:
            lines += self._population(cell)
        for proj in self.p.projections:
            lines += self._projection(proj)
        recorded = [c for c in self.p.populations if c.record]
        if recorded:
            lines.append("")
        for cell in recorded:
            lines.append(f'{ind}pops["{cell.name}"].record({cell.record!r})')
        lines.append(f"{ind}return pops")
        return "\n".join(lines)

    def _population(self, cell: CellPlan) -> list[str]:
        ind, comment = _INDENT, f"{cell.name}: {cell.size} neurons"
        if cell.cell_type == "IF_curr_exp":
            params = [f"{k}={v!r}" for k, v in cell.parameters.items()]
            model = "sim.IF_curr_exp" + _wrapped(params, ind * 2, "(", ")")
            return ["", f"{ind}# {comment}",
                    f'{ind}pops["{cell.name}"] = sim.Population(',
                    f"{ind * 2}{cell.size}, {model},",
                    f'{ind * 2}initial_values={{"v": {self._initial_v(cell)}}}, label="{cell.name}")']
        if cell.poisson:
            comment += f", Poisson spikes drawn for {self.t_stop} ms"
        return ["", f"{ind}# {comment}",
                f'{ind}pops["{cell.name}"] = sim.Population(',
                f"{ind * 2}{cell.size}, sim.SpikeSourceArray(spike_times={self._spike_times(cell)}),",
                f'{ind * 2}label="{cell.name}")']

    def _initial_v(self, cell: CellPlan) -> str:
        """The initial membrane potentials (mV): one number, an inline list, or a .npz array."""
        v = np.asarray(cell.initial_v, dtype=float)
        if np.all(v == v[0]):
            return repr(float(v[0]))
        if self._initial_v_to_data(cell):
            self.data[f"{cell.name}.v_init"] = v
            return f'DATA["{cell.name}.v_init"]'
        return _wrapped([repr(float(x)) for x in v], _INDENT * 2)

    @staticmethod
    def _initial_v_to_data(cell: CellPlan) -> bool:
        v = cell.initial_v
        return v is not None and len(v) > INLINE_LIMIT and not np.all(v == v[0])

    def _spike_times(self, cell: CellPlan) -> str:
        times = self._spike_lists(cell)
        return f"playable({times})" if self._nudges_spikes() else times

    def _spike_lists(self, cell: CellPlan) -> str:
        if self._spikes_to_data(cell):
            idx = np.concatenate([np.full(len(t), k, dtype=np.int64) for k, t in enumerate(cell.spike_times)])
            times = np.concatenate([np.asarray(t, dtype=float) for t in cell.spike_times])
            self.data[f"{cell.name}.index"], self.data[f"{cell.name}.times"] = idx, times
            return f'spike_lists("{cell.name}", {cell.size})'
        neurons = ["[" + ", ".join(_num(t) for t in times) + "]" for times in cell.spike_times]
        return _wrapped(neurons, _INDENT * 2)

    def _projection(self, proj: ProjectionPlan) -> list[str]:
        ind, n = _INDENT, len(proj.connections)
        weights = np.asarray(proj.engine_weights, dtype=float)
        weight = (float(weights[0]) if n else 0.0) if _uniform(weights) else None
        w_text = f"{weight!r} nA" if weight is not None else f"{weights.min():.4g} to {weights.max():.4g} nA"
        synapse = self._synapse(proj, weight)
        return ["", f"{ind}# {proj.name}: {proj.pre} -> {proj.post}, {n} synapse{'s' if n != 1 else ''}, "
                    f"{w_text} {proj.receptor_type}",
                f"{ind}sim.Projection(",
                f'{ind * 2}pops["{proj.pre}"], pops["{proj.post}"],',
                f"{ind * 2}{self._connector(proj, weights if weight is None else None)},",
                f"{ind * 2}{synapse},",
                f'{ind * 2}receptor_type="{proj.receptor_type}", label="{proj.name}")']

    def _connector(self, proj: ProjectionPlan, weights: np.ndarray | None) -> str:
        """A FromListConnector of (pre, post) rows, with a column of ``weights`` (nA) unless None."""
        weighted = weights is not None
        columns = ', column_names=["weight"]' if weighted else ""
        if len(proj.connections) > INLINE_LIMIT:
            self.data[f"{proj.name}.connections"] = np.asarray(proj.connections, dtype=np.int64)
            rows = f'DATA["{proj.name}.connections"]'
            if weighted:
                self.data[f"{proj.name}.weights"] = weights
                rows = f'np.column_stack([{rows}, DATA["{proj.name}.weights"]])'
            return f"sim.FromListConnector({rows}{columns})"
        if weighted:
            rows = [f"({int(i)}, {int(j)}, {float(w)!r})" for (i, j), w in zip(proj.connections, weights)]
        else:
            rows = [f"({int(i)}, {int(j)})" for i, j in proj.connections]
        return f"sim.FromListConnector({_wrapped(rows, _INDENT * 2)}{columns})"

    def _synapse(self, proj: ProjectionPlan, weight: float | None) -> str:
        """StaticSynapse or STDPMechanism; ``weight`` None = given per connection by the connector."""
        args = {"delay": round(proj.delay, 9)} if weight is None else {"weight": weight,
                                                                       "delay": round(proj.delay, 9)}
        if proj.stdp is None:
            return f"sim.StaticSynapse({_kwargs(args)})"
        s = proj.stdp
        dependence = {"additive": "AdditiveWeightDependence",
                      "multiplicative": "MultiplicativeWeightDependence"}[s.weight_dependence]
        ind = _INDENT * 3
        return ("sim.STDPMechanism(\n"
                f"{ind}timing_dependence=sim.SpikePairRule(tau_plus={s.tau_plus!r}, tau_minus={s.tau_minus!r}, "
                f"A_plus={s.A_plus!r}, A_minus={s.A_minus!r}),\n"
                f"{ind}weight_dependence=sim.{dependence}(w_min={s.w_min!r}, w_max={s.w_max!r}),\n"
                f"{ind}{_kwargs(args)})")

    # -- reading back and main -----------------------------------------------------------

    def _read_spikes(self) -> str:
        names = [c.name for c in self.p.populations if "spikes" in c.record]
        return _READ_SPIKES_FUNCTION.replace("NAMES", _wrapped([f'"{n}"' for n in names], _INDENT))

    @staticmethod
    def _main() -> str:
        return _MAIN_FUNCTION


_PLAYABLE_FUNCTION = '''
def playable(spike_times: list) -> list:
    """Spike times (ms) per neuron, each played EARLY ms early (see EARLY)."""
    return [[t - EARLY for t in neuron] for neuron in spike_times]
'''

_SPIKE_LISTS_FUNCTION = '''
def spike_lists(population: str, size: int) -> list:
    """Spike times (ms) of each neuron of a source population, from DATA."""
    index, times = DATA[f"{population}.index"], DATA[f"{population}.times"]
    return [times[index == k].tolist() for k in range(size)]
'''

_READ_SPIKES_FUNCTION = '''\
def recorded_spikes(pops: dict) -> dict:
    """{population: {"indices": [...], "times": [...]}} of every population recorded for spikes,
    time-sorted, in the description's time (ms)."""
    out, last = {}, int(round(DURATION / DT))
    for name in NAMES:
        events = []
        trains = pops[name].get_data("spikes", clear=False).segments[0].spiketrains
        for k, train in enumerate(trains):
            index = int(train.annotations.get("source_index", k))
            for t in train.rescale("ms").magnitude:
                step = int(round((float(t) - TIME_SHIFT) / DT))
                if 0 <= step < last:  # not in the lead
                    events.append((step, index))
        events.sort()
        out[name] = {"indices": [i for _, i in events], "times": [round(s * DT, 9) for s, _ in events]}
    return out'''

_MAIN_FUNCTION = '''\
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spikes", metavar="OUT.json", help="write the recorded spikes to this JSON file")
    args = parser.parse_args()
    pops = build()
    sim.run(LEAD + DURATION)
    spikes = recorded_spikes(pops)
    sim.end()
    if args.spikes:
        Path(args.spikes).write_text(json.dumps(spikes))
    else:
        for name, s in spikes.items():
            print(f"{name}: {len(s['times'])} spikes from {len(set(s['indices']))} neurons")'''
