"""What a simulation returns, the same for every backend."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class SpikeTrains:
    """Spikes of one population: neuron ``indices`` and ``times`` (ms, on the dt grid), time-sorted."""
    size: int
    indices: np.ndarray
    times: np.ndarray

    def per_neuron(self) -> list[np.ndarray]:
        """One array of spike times (ms) per neuron."""
        return [self.times[self.indices == k] for k in range(self.size)]

    def by_step(self, dt: float) -> dict[int, list[int]]:
        """{step: sorted neuron indices that spiked in that step}."""
        steps = np.rint(np.asarray(self.times, dtype=float) / dt).astype(np.int64)  # round half to even
        indices = np.asarray(self.indices, dtype=np.int64)
        order = np.lexsort((indices, steps))
        steps, indices = steps[order], indices[order]
        first, starts = np.unique(steps, return_index=True)
        ends = np.append(starts[1:], len(steps))
        return {int(k): indices[a:b].tolist() for k, a, b in zip(first, starts, ends)}

    def events(self, dt: float) -> set[tuple[int, int]]:
        """The set of (step, neuron) events, for exact comparisons between runs."""
        return {(int(round(t / dt)), int(i)) for i, t in zip(self.indices, self.times)}


@dataclass
class Result:
    """Spikes, sampled state and final plastic weights after ``t_stop`` ms.

    - ``spikes[population]``: :class:`SpikeTrains`, for probed populations.
    - ``state[population][variable]``: array (steps, size), the value at the end of
      each step (after threshold and reset), for probed variables.
    - ``weights[projection]``: dense (n_pre, n_post) array of the final weights (nA),
      NaN where there is no synapse, for every plastic projection.
    """
    t_stop: float
    dt: float
    spikes: dict[str, SpikeTrains] = field(default_factory=dict)
    state: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    wall_s: float = 0.0


@dataclass
class BatchResult:
    """The trials of one batched run (the torch backend with ``batch > 1``), in trial order.

    ``trials[b]`` (also ``result[b]``) is the :class:`Result` that trial b gives
    when run alone; ``wall_s`` is the time of the whole batch.
    """
    trials: list[Result]
    wall_s: float = 0.0

    def __len__(self) -> int:
        return len(self.trials)

    def __getitem__(self, b: int) -> Result:
        return self.trials[b]

    def __iter__(self):
        return iter(self.trials)

    @property
    def t_stop(self) -> float:
        return self.trials[0].t_stop

    @property
    def dt(self) -> float:
        return self.trials[0].dt
