"""The network graph: populations (nodes), projections (edges), probes, dt and seed."""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from spikemem.errors import DescriptionError
from spikemem.ir.neurons import INITIAL_STATE, SOURCES, IFCurrExp, NeuronModel
from spikemem.ir.synapses import (STDP, Connector, Distribution, FromList, OneToOne,
                                  Static, SynapseDynamics)


@dataclass
class Population:
    """``size`` neurons of one ``model``; ``name`` is unique in the network."""
    name: str
    size: int
    model: NeuronModel


@dataclass
class Projection:
    """Synapses from ``pre`` to ``post`` (population names).

    ``weight`` (nA, positive for both receptors: the receptor gives the sign)
    is a scalar, a distribution, or a list with one value per connection in
    the connector's order (row-major over pre, then post). ``delay`` (ms): a
    spike at step t makes a target with enough input fire at step t + delay/dt
    (PyNN semantics); it must be at least one step.

    ``trainable``: marks the weights that gradient training may change (static
    projections only: a plastic projection learns by its own rule); it changes
    nothing in a simulation. The torch backend's training loop that reads it is
    not built yet; the surrogate spikes it will use are in
    :mod:`spikemem.torchsim.surrogate`.
    """
    name: str
    pre: str
    post: str
    connector: Connector
    weight: float | Distribution | list[float] = 1.0
    delay: float = 1.0
    receptor: Literal["excitatory", "inhibitory"] = "excitatory"
    synapse: SynapseDynamics = field(default_factory=Static)
    trainable: bool = False


@dataclass
class Probe:
    """Record ``variables`` (``"spikes"`` or a state variable, every step) of a population."""
    population: str
    variables: list[str] = field(default_factory=lambda: ["spikes"])


DelayConvention = Literal["pynn", "spinnaker"]


@dataclass
class Network:
    """A whole description. ``dt`` in ms; ``seed`` drives every random draw.

    ``delay_convention`` says what a projection's delay of d steps means:

    - ``"pynn"`` (the default): what it means in PyNN on NEST and in plain Brian2:
      the spike reaches the target d steps after its source fired, and the target
      can fire at the earliest one step later (step t + d + 1). A PyNN user's
      numbers carry over unchanged.
    - ``"spinnaker"``: sPyNNaker's meaning: the target can fire at step t + d
      (the CA3 models, written for SpiNNaker, use it).

    :func:`spikemem.ir.timing.arrival_steps` turns either into the one number
    the backends use.
    """
    name: str = "network"
    dt: float = 0.1
    delay_convention: DelayConvention = "pynn"
    seed: int = 0
    populations: list[Population] = field(default_factory=list)
    projections: list[Projection] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    params: dict[str, float] = field(default_factory=dict)
    description: str = ""

    def population(self, name: str) -> Population:
        """The population called ``name`` (KeyError listing the known names)."""
        for pop in self.populations:
            if pop.name == name:
                return pop
        raise KeyError(f"no population '{name}' (populations: {[p.name for p in self.populations]})")

    def projection(self, name: str) -> Projection:
        """The projection called ``name``."""
        for proj in self.projections:
            if proj.name == name:
                return proj
        raise KeyError(f"no projection '{name}' (projections: {[p.name for p in self.projections]})")

    def recorded(self) -> dict[str, list[str]]:
        """{population: variables} that the probes record (several probes on one population add up)."""
        out: dict[str, list[str]] = {}
        for probe in self.probes:
            wanted = out.setdefault(probe.population, [])
            wanted += [v for v in probe.variables if v not in wanted]
        return out

    def validate(self) -> list[str]:
        """Every problem of the description, each as ``"field.path: message"``."""
        return validate(self)

    def check(self, source: str = "<network>") -> "Network":
        """Raise :class:`DescriptionError` with every problem, or return self."""
        problems = self.validate()
        if problems:
            raise DescriptionError(problems, source)
        return self


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def validate(net: Network) -> list[str]:
    """Every problem of ``net`` at once, each with the path of its field.

    A network built in Python is first read back as a file would be
    (:func:`spikemem.ir.io.type_problems`), so a wrong type (``weight="2 nA"``)
    gets the same message as in a file, together with the value problems of
    every node that could be read.
    """
    from spikemem.ir.io import type_problems  # io builds on this module

    return type_problems(net) or value_problems(net)


def value_problems(net: Network) -> list[str]:
    """The problems of the values of ``net``, whose fields all have the right types."""
    out: list[str] = []
    if not net.dt > 0:
        out.append(f"dt: must be > 0 ms, got {net.dt}")
    names: dict[str, Population] = {}
    for k, pop in enumerate(net.populations):
        path = f"populations[{k}]"
        if pop.name in names:
            out.append(f"{path}.name: duplicate population name '{pop.name}'")
        if not _IDENTIFIER.match(pop.name):
            out.append(f"{path}.name: '{pop.name}' must be an identifier (letters, digits and _, "
                       f"not starting with a digit)")
        names[pop.name] = pop
        if not (isinstance(pop.size, int) and pop.size >= 1):
            out.append(f"{path}.size: must be an integer >= 1, got {pop.size}")
        out += [f"{path}.model.{f}: {m}" for f, m in pop.model.problems()]
        init_field = INITIAL_STATE.get(type(pop.model))
        init = getattr(pop.model, init_field, None) if init_field else None
        if isinstance(init, (list, tuple)) and isinstance(pop.size, int) and len(init) != pop.size:
            out.append(f"{path}.model.{init_field}: needs one value per neuron ({pop.size}), "
                       f"got {len(init)}")
        if isinstance(pop.model, IFCurrExp) and net.dt > 0:
            steps = pop.model.tau_refrac / net.dt
            if abs(steps - round(steps)) > 1e-9:
                out.append(f"{path}.model.tau_refrac: must be a whole number of steps "
                           f"(dt={net.dt} ms), got {pop.model.tau_refrac}")
        if hasattr(pop.model, "spike_times") and pop.model.spike_times \
                and len(pop.model.spike_times) != pop.size:
            out.append(f"{path}.model.spike_times: needs one list per neuron "
                       f"({pop.size}), got {len(pop.model.spike_times)}")
        if hasattr(pop.model, "spike_times") and net.dt > 0 and _shares_a_step(pop.model.spike_times, net.dt):
            for i, times in enumerate(pop.model.spike_times):
                steps = [round(t / net.dt) for t in times]
                if len(set(steps)) != len(steps):
                    out.append(f"{path}.model.spike_times[{i}]: two spikes fall in one step of "
                               f"{net.dt} ms; a neuron spikes at most once per step")
    seen_proj: set[str] = set()
    for k, proj in enumerate(net.projections):
        path = f"projections[{k}]"
        if proj.name in seen_proj:
            out.append(f"{path}.name: duplicate projection name '{proj.name}'")
        if not _IDENTIFIER.match(proj.name):
            out.append(f"{path}.name: '{proj.name}' must be an identifier (letters, digits and _, "
                       f"not starting with a digit)")
        seen_proj.add(proj.name)
        for end in ("pre", "post"):
            ref = getattr(proj, end)
            if ref not in names:
                out.append(f"{path}.{end}: unknown population '{ref}' "
                           f"(known: {', '.join(names) or 'none'})")
        if proj.post in names and isinstance(names[proj.post].model, SOURCES):
            out.append(f"{path}.post: '{proj.post}' is a spike source and cannot receive synapses")
        out += [f"{path}.connector.{f}: {m}" for f, m in proj.connector.problems()]
        if isinstance(proj.connector, OneToOne) and proj.pre in names and proj.post in names \
                and names[proj.pre].size != names[proj.post].size:
            out.append(f"{path}.connector: one_to_one needs equal sizes, got "
                       f"{names[proj.pre].size} -> {names[proj.post].size}")
        if isinstance(proj.connector, FromList) and proj.pre in names and proj.post in names:
            for c, pair in enumerate(proj.connector.connections):
                if len(pair) == 2 and not (0 <= pair[0] < names[proj.pre].size
                                           and 0 <= pair[1] < names[proj.post].size):
                    out.append(f"{path}.connector.connections[{c}]: index out of range {pair}")
        if hasattr(proj.weight, "problems"):
            out += [f"{path}.weight.{f}: {m}" for f, m in proj.weight.problems()]
        elif isinstance(proj.weight, (int, float)) and proj.weight < 0:
            out.append(f"{path}.weight: must be >= 0 (the receptor gives the sign), got {proj.weight}")
        elif not isinstance(proj.weight, (int, float)):
            out += _weight_list_problems(net, proj, path, names)
        if net.dt > 0:
            steps = proj.delay / net.dt
            if steps < 1 - 1e-9 or abs(steps - round(steps)) > 1e-9:
                out.append(f"{path}.delay: must be a whole number >= 1 of steps "
                           f"(dt={net.dt} ms), got {proj.delay}")
        out += _synapse_problems(proj, path, names, net.dt)
        if proj.trainable and not isinstance(proj.synapse, Static):
            out.append(f"{path}.trainable: a {type(proj.synapse).__name__} projection learns by its own rule "
                       f"and cannot also be trained by gradients; set trainable: false or make it static")
    for k, probe in enumerate(net.probes):
        path = f"probes[{k}]"
        if probe.population not in names:
            out.append(f"{path}.population: unknown population '{probe.population}'")
            continue
        allowed = names[probe.population].model.recordables
        for v in probe.variables:
            if v not in allowed:
                out.append(f"{path}.variables: '{v}' cannot be recorded from "
                           f"{type(names[probe.population].model).__name__} (can: {', '.join(allowed)})")
    return out


def _shares_a_step(spike_times: list[list[float]], dt: float) -> bool:
    """Whether two spikes of one neuron fall in one step of ``dt`` ms (one vectorised pass over
    every neuron; the per-neuron messages are then found the slow way)."""
    lengths = [len(times) for times in spike_times]
    total = sum(lengths)
    if total < 2:
        return False
    steps = np.round(np.fromiter(itertools.chain.from_iterable(spike_times), float, total) / dt)
    inside = np.ones(total - 1, dtype=bool)  # pairs of neighbours of one neuron
    last = np.cumsum(lengths)[:-1] - 1
    inside[last[(last >= 0) & (last < total - 1)]] = False
    gaps = np.diff(steps)[inside]
    if np.any(gaps < 0):  # a neuron's times out of order: sort within each neuron
        neuron = np.repeat(np.arange(len(lengths)), lengths)
        order = np.lexsort((steps, neuron))
        steps, neuron = steps[order], neuron[order]
        return bool(np.any((steps[1:] == steps[:-1]) & (neuron[1:] == neuron[:-1])))
    return bool(np.any(gaps == 0))


def _weight_list_problems(net: Network, proj: Projection, path: str,
                          names: dict[str, Population]) -> list[str]:
    """A per-synapse weight list: one value >= 0 for each synapse the connector makes."""
    from spikemem.ir.connectivity import synapse_count  # connectivity builds on this module

    out = []
    negative = [k for k, w in enumerate(proj.weight) if w < 0]
    if negative:
        out.append(f"{path}.weight[{negative[0]}]: must be >= 0 (the receptor gives the sign), "
                   f"got {proj.weight[negative[0]]}")
    sizes_ok = all(r in names and isinstance(names[r].size, int) and names[r].size >= 1
                   for r in (proj.pre, proj.post))
    if sizes_ok and not proj.connector.problems():
        n = synapse_count(net, proj)
        if n != len(proj.weight):
            out.append(f"{path}.weight: the list has {len(proj.weight)} values but the connector makes "
                       f"{n} synapses (one weight per synapse, in the connector's order)")
    return out


def _synapse_problems(proj: Projection, path: str, names: dict[str, Population],
                      dt: float) -> list[str]:
    syn = proj.synapse
    if isinstance(syn, Static):
        return []
    assert isinstance(syn, STDP)
    out = [f"{path}.synapse.timing.{f}: {m}" for f, m in syn.timing.problems()]
    out += [f"{path}.synapse.weights.{f}: {m}" for f, m in syn.weights.problems()]
    if dt > 0:
        steps = syn.timing.post_delay / dt
        if abs(steps - round(steps)) > 1e-9:
            out.append(f"{path}.synapse.timing.post_delay: must be a whole number of steps, "
                       f"got {syn.timing.post_delay}")
    if syn.gate is not None:
        out += [f"{path}.synapse.gate.{f}: {m}" for f, m in syn.gate.problems()]
        gate_steps = syn.gate.delay / dt if dt > 0 else 0.0
        if abs(gate_steps - round(gate_steps)) > 1e-9:
            out.append(f"{path}.synapse.gate.delay: must be a whole number of steps, got {syn.gate.delay}")
        if syn.gate.population and syn.gate.population not in names:
            out.append(f"{path}.synapse.gate.population: unknown population '{syn.gate.population}'")
    if isinstance(proj.weight, (int, float)) and not \
            syn.weights.w_min <= proj.weight <= syn.weights.w_max:
        out.append(f"{path}.weight: initial weight {proj.weight} outside "
                   f"[w_min, w_max] = [{syn.weights.w_min}, {syn.weights.w_max}]")
    elif (isinstance(proj.weight, (list, tuple)) or hasattr(proj.weight, "__array__")) \
            and not syn.weights.problems():
        outside = [k for k, w in enumerate(proj.weight) if not syn.weights.w_min <= w <= syn.weights.w_max]
        if outside:
            out.append(f"{path}.weight[{outside[0]}]: initial weight {proj.weight[outside[0]]} outside "
                       f"[w_min, w_max] = [{syn.weights.w_min}, {syn.weights.w_max}]"
                       + (f" ({len(outside)} weights outside)" if len(outside) > 1 else ""))
    return out
