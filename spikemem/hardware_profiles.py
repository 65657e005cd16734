"""SpiNNaker board profiles: the files in ``hardware/spinnaker/`` as dataclasses.

    >>> board = load_board("spin5")          # or a path to a .yaml profile
    >>> board.app_cores_per_chip, board.neurons_per_core["IF_curr_exp"]
    (16, 256)

A profile holds what sPyNNaker can place on one board: chips, application cores
(cores left after SC&MP and sPyNNaker's own monitors), neurons per core for each
PyNN cell type, the time step (ms) and SDRAM. The numbers come from the sPyNNaker
sources; each profile file cites where.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from spikemem.errors import DescriptionError

#: where the board profiles live
BOARD_DIR = Path(__file__).resolve().parents[1] / "hardware" / "spinnaker"
#: the board names :func:`load_board` accepts (file stems in :data:`BOARD_DIR`)
BOARDS: tuple[str, ...] = tuple(sorted(p.stem for p in BOARD_DIR.glob("*.yaml")))


@dataclass(frozen=True)
class BoardProfile:
    """One SpiNNaker board, as sPyNNaker maps onto it."""
    name: str                        #: e.g. "spin5"
    description: str
    spinnaker_version: int           #: sPyNNaker's ``[Machine] version`` (3 or 5)
    chips: int                       #: chips on the board
    cores_per_chip: int              #: ARM cores per chip (18)
    system_cores_per_chip: int       #: cores sPyNNaker keeps on every chip (SC&MP + extra monitor)
    app_cores_per_chip: int          #: cores left for populations on one chip
    app_cores: int                   #: cores left for populations on the whole board
    timestep_ms: float               #: the only step sPyNNaker runs here (ms)
    sdram_per_chip_mb: int           #: nominal SDRAM per chip (MB)
    sdram_usable_bytes: int          #: SDRAM per chip sPyNNaker allocates from (bytes)
    neurons_per_core: dict[str, int | None]  #: PyNN cell type -> neurons per core (None: never split)
    max_neurons_per_core: int        #: most neurons any core may hold (master population table)
    source: str = "<board>"          #: the file it was read from


_INT_FIELDS = ("spinnaker_version", "chips", "cores_per_chip", "system_cores_per_chip", "app_cores_per_chip",
               "app_cores", "sdram_per_chip_mb", "sdram_usable_bytes", "max_neurons_per_core")


def load_board(name_or_path: str | Path) -> BoardProfile:
    """The profile of a board: a name in :data:`BOARDS` or a path to a ``.yaml`` file.

    Raises :class:`DescriptionError` naming the file and every bad field, or
    ``ValueError`` listing the known boards for an unknown name.
    """
    text = str(name_or_path)
    if text in BOARDS:
        path = BOARD_DIR / f"{text}.yaml"
    elif text.endswith((".yaml", ".yml")) or "/" in text:
        path = Path(text)
        if not path.exists():
            raise DescriptionError(["no such board profile file"], str(path))
    else:
        raise ValueError(f"unknown board '{text}': the available boards are {', '.join(BOARDS)} "
                         f"({BOARD_DIR}), or give the path of a .yaml profile")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise DescriptionError([f"malformed YAML: {getattr(exc, 'problem', None) or exc}"], str(path)) from None
    return _from_dict(raw, str(path))


def _from_dict(raw: Any, source: str) -> BoardProfile:
    if not isinstance(raw, dict):
        raise DescriptionError(["the file must hold a mapping of fields"], source)
    problems: list[str] = []
    for key in ("name", "description"):
        if not isinstance(raw.get(key), str):
            problems.append(f"{key}: must be a string, got {raw.get(key)!r}")
    for key in _INT_FIELDS:
        value = raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            problems.append(f"{key}: must be a positive integer, got {value!r}")
    step = raw.get("timestep_ms")
    if isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0:
        problems.append(f"timestep_ms: must be a positive number (ms), got {step!r}")
    per_core = raw.get("neurons_per_core")
    if not isinstance(per_core, dict) or not per_core:
        problems.append(f"neurons_per_core: must map PyNN cell types to neurons per core, got {per_core!r}")
    else:
        for cell, n in per_core.items():
            if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n <= 0):
                problems.append(f"neurons_per_core.{cell}: must be a positive integer or null, got {n!r}")
    unknown = set(raw) - {"schema_version", "name", "description", "timestep_ms", "neurons_per_core", *_INT_FIELDS}
    problems += [f"{key}: unknown field" for key in sorted(unknown)]
    if not problems:
        problems += _consistency(raw)
    if problems:
        raise DescriptionError(problems, source)
    return BoardProfile(
        name=raw["name"], description=raw["description"], timestep_ms=float(raw["timestep_ms"]),
        neurons_per_core=dict(raw["neurons_per_core"]), source=source, **{k: raw[k] for k in _INT_FIELDS})


def _consistency(raw: dict[str, Any]) -> list[str]:
    out = []
    if raw["app_cores_per_chip"] > raw["cores_per_chip"] - raw["system_cores_per_chip"]:
        out.append(f"app_cores_per_chip: {raw['app_cores_per_chip']} is more than cores_per_chip - "
                   f"system_cores_per_chip = {raw['cores_per_chip'] - raw['system_cores_per_chip']}")
    if raw["app_cores"] > raw["chips"] * raw["app_cores_per_chip"]:
        out.append(f"app_cores: {raw['app_cores']} is more than chips x app_cores_per_chip = "
                   f"{raw['chips'] * raw['app_cores_per_chip']}")
    return out
