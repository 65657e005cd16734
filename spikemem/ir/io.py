"""Reading and writing descriptions as YAML or JSON files.

A file holds ``schema_version``, optional ``params`` (name: number or
expression of earlier params) and the fields of :class:`Network`. Any number
in the file may be an expression over the params (:mod:`spikemem.ir.expr`).
Tagged nodes (neuron models, connectors, distributions, synapse dynamics,
weight dependences) carry ``type:``. Reading collects every problem (unknown
field, wrong type, unknown param, then :func:`validate`) and raises one
:class:`DescriptionError` naming the file and each field path.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

import numpy as np
import yaml

from spikemem.errors import DescriptionError
from spikemem.ir.expr import ExpressionError, evaluate
from spikemem.ir.network import Network, value_problems

SCHEMA_VERSION = 1
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built in
_FAIL = object()
_UNITS = ("ms", "mV", "nA", "nF", "uS", "Hz")
#: the key under which :func:`dump` records the params its numbers were computed from
RESOLVED_PARAMS = "params_resolved"


class _Reader:
    """Reads parsed file content into IR dataclasses, collecting every problem.

    ``problems`` holds what could not be read (unknown fields, wrong types);
    ``node_problems`` the value problems of every node that could be built from
    the fields that were read, so a file with both kinds gets both in one round.
    """

    def __init__(self, params: dict[str, float]):
        self.params = params
        self.problems: list[str] = []
        self.node_problems: list[str] = []

    def fail(self, path: str, msg: str) -> object:
        self.problems.append(f"{path}: {msg}" if path else msg)
        return _FAIL

    def read(self, tp: Any, value: Any, path: str) -> Any:
        origin = typing.get_origin(tp)
        if origin in (Union, types.UnionType):
            return self._union(typing.get_args(tp), value, path)
        if origin is Literal:
            allowed = typing.get_args(tp)
            if value in allowed:
                return value
            return self.fail(path, f"must be one of {', '.join(map(repr, allowed))}, got {value!r}")
        if origin is list:
            if not isinstance(value, list):
                return self.fail(path, f"must be a list, got {_typename(value)}")
            (item_tp,) = typing.get_args(tp)
            if item_tp is float and all(type(v) in (int, float) for v in value):
                return [float(v) for v in value]  # the common case of long weight lists, fast
            items = [self.read(item_tp, v, f"{path}[{i}]") for i, v in enumerate(value)]
            return _FAIL if _FAIL in items else items
        if origin is dict:
            if not isinstance(value, dict):
                return self.fail(path, f"must be a mapping, got {_typename(value)}")
            out = {str(k): self.read(typing.get_args(tp)[1], v, f"{path}.{k}")
                   for k, v in value.items()}
            return _FAIL if _FAIL in out.values() else out
        if dataclasses.is_dataclass(tp):
            return self._dataclass(tp, value, path)
        if tp is bool:
            return value if isinstance(value, bool) else \
                self.fail(path, f"must be true or false, got {value!r}")
        if tp is str:
            return value if isinstance(value, str) else \
                self.fail(path, f"must be a string, got {_typename(value)}")
        if tp in (int, float):
            return self._number(tp, value, path)
        raise TypeError(f"no reader for {tp}")  # a bug in the IR, not in the file

    def _number(self, tp: type, value: Any, path: str) -> Any:
        if isinstance(value, str):
            try:
                value = evaluate(value, self.params)
            except ExpressionError as exc:
                if any(unit in value.split() or value.endswith(unit) for unit in _UNITS):
                    return self.fail(path, f"{exc}; units are fixed by the description ({', '.join(_UNITS)}: "
                                           f"weights in nA, times in ms): write the number alone")
                return self.fail(path, str(exc))
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return self.fail(path, f"must be a number, got {_typename(value)}")
        if tp is int:
            if float(value) != int(value):
                return self.fail(path, f"must be a whole number, got {value}")
            return int(value)
        return float(value)

    def _union(self, options: tuple, value: Any, path: str) -> Any:
        if value is None:
            if type(None) in options:
                return None
            return self.fail(path, "must not be empty")
        tagged = [o for o in options if hasattr(o, "kind")]
        if isinstance(value, dict) and tagged:
            kind = value.get("type")
            for cls in tagged:
                if cls.kind == kind:
                    return self._dataclass(cls, value, path)
            kinds = ", ".join(c.kind for c in tagged)
            if kind is None:
                return self.fail(path, f"needs a 'type:' (one of: {kinds})")
            return self.fail(path, f"unknown type {kind!r} (one of: {kinds})")
        if isinstance(value, list) and any(typing.get_origin(o) is list for o in options):
            return self.read(next(o for o in options if typing.get_origin(o) is list), value, path)
        if float in options and isinstance(value, (int, float, str)):  # the IR's unions hold no bare int
            return self._number(float, value, path)
        kinds = ", ".join(getattr(o, "kind", getattr(o, "__name__", str(o))) for o in options
                          if o is not type(None))
        return self.fail(path, f"must be one of: {kinds}; got {_typename(value)}")

    def _dataclass(self, cls: type, value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            return self.fail(path, f"must be a mapping with the fields of {cls.__name__}, "
                                   f"got {_typename(value)}")
        hints, fields = _schema(cls)
        kwargs, ok, failed = {}, True, set()
        for key, item in value.items():
            if key == "type" and hasattr(cls, "kind"):
                continue
            if key not in fields:
                ok = False
                self.fail(f"{path}.{key}" if path else key,
                          f"unknown field (fields of {cls.__name__}: {', '.join(fields)})")
                continue
            parsed = self.read(hints[key], item, f"{path}.{key}" if path else key)
            if parsed is _FAIL:
                ok = False
                failed.add(key)
            else:
                kwargs[key] = parsed
        missing = [name for name, f in fields.items() if name not in kwargs and name not in failed
                   and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        for name in missing:
            ok = False
            self.fail(f"{path}.{name}" if path else name, "missing required field")
        if ok:
            return cls(**kwargs)
        if hasattr(cls, "problems") and not missing and not failed & {f.name for f in dataclasses.fields(cls)
                                                                      if f.default is dataclasses.MISSING}:
            # the value problems of what was read, leaving out fields that could not be read
            node = cls(**kwargs)
            self.node_problems += [f"{path}.{f}: {m}" for f, m in node.problems()
                                   if f.split(".")[0].split("[")[0] not in failed]
        return _FAIL


@functools.lru_cache(maxsize=None)
def _schema(cls: type) -> tuple[dict[str, Any], dict[str, dataclasses.Field]]:
    """Resolved type hints and fields of a dataclass (resolving hints is slow: once per class)."""
    return typing.get_type_hints(cls), {f.name: f for f in dataclasses.fields(cls)}


def _typename(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: f"the string {value!r}",
            type(None): "nothing"}.get(type(value), f"{type(value).__name__} {value!r}")


def from_dict(data: Any, source: str = "<dict>",
              overrides: dict[str, float] | None = None) -> Network:
    """Build and validate a :class:`Network` from the parsed content of a file."""
    if not isinstance(data, dict):
        raise DescriptionError([f"top level must be a mapping, got {_typename(data)}"], source)
    data = dict(data)
    problems = []
    version = data.pop("schema_version", None)
    if version != SCHEMA_VERSION:
        problems.append(f"schema_version: must be {SCHEMA_VERSION}, got {version!r}")
    resolved = data.pop(RESOLVED_PARAMS, None)
    declared = data.pop("params", None) or {}
    overrides = dict(overrides or {})
    if isinstance(resolved, dict) and not declared:
        for name in [k for k in overrides if k in resolved]:
            problems.append(f"--set {name}: this file was written by spikemem.dump, its numbers are already "
                            f"computed and '{RESOLVED_PARAMS}' only records the params they came from; "
                            f"load the original model file with the override, or edit the numbers here")
            del overrides[name]
    params, param_problems = _resolve_params(declared, overrides)
    problems += param_problems
    reader = _Reader(params)
    net = reader._dataclass(Network, data, "")
    problems += reader.problems
    if net is _FAIL:
        raise DescriptionError(problems + reader.node_problems, source)
    net.params = params if declared or not isinstance(resolved, dict) else \
        {str(k): v for k, v in resolved.items()}
    problems += value_problems(net)
    if problems:
        raise DescriptionError(problems, source)
    return net


def type_problems(net: Network) -> list[str]:
    """What reading ``net`` back as a file would find wrong in its types (empty when it reads).

    Used by :func:`spikemem.ir.network.validate`, so a network built in Python gets the
    messages a file gets, with the value problems of every node that could be read.
    """
    hints, fields = _schema(Network)
    if all(_conforms(hints[name], getattr(net, name)) for name in fields if name != "params"):
        return []  # the common case, without converting the network to a file's form
    reader = _Reader(dict(net.params))
    data = _plain(net)
    data["params"] = {}  # the params were used already; their values are not re-checked here
    if reader._dataclass(Network, data, "") is not _FAIL:
        return []
    return reader.problems + reader.node_problems


def _conforms(tp: Any, value: Any) -> bool:
    """Whether ``value`` already has the types that reading it as ``tp`` gives, so the reader would
    find nothing wrong. Strict (a numpy number, an expression string or a tuple is False): then
    :func:`type_problems` reads the network back in full, which accepts those or names the problem.
    """
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None:
            return type(None) in options
        if type(value) in options:  # a node of one of the tagged types, or a plain number
            return _conforms(type(value), value)
        if type(value) is list:
            return any(typing.get_origin(o) is list and _conforms(o, value) for o in options)
        return float in options and type(value) is int
    if origin is Literal:
        return type(value) is str and value in typing.get_args(tp)
    if origin is list:
        if type(value) is not list:
            return False
        (item_tp,) = typing.get_args(tp)
        if item_tp is float:  # long weight and spike time lists: one pass in C
            return set(map(type, value)) <= {float, int}
        return all(_conforms(item_tp, v) for v in value)
    if origin is dict:
        key_tp, item_tp = typing.get_args(tp)
        return type(value) is dict and all(type(k) is key_tp and _conforms(item_tp, v) for k, v in value.items())
    if dataclasses.is_dataclass(tp):
        hints, fields = _schema(tp)
        return type(value) is tp and all(_conforms(hints[name], getattr(value, name)) for name in fields)
    if tp is float:
        return type(value) in (float, int)
    return type(value) is tp  # bool, int, str


def _resolve_params(raw: Any, overrides: dict[str, float]) -> tuple[dict[str, float], list[str]]:
    if not isinstance(raw, dict):
        return {}, [f"params: must be a mapping of name: value, got {_typename(raw)}"]
    problems = [f"--set {k}: unknown param (declared params: {', '.join(raw) or 'none'})"
                for k in overrides if k not in raw]
    params: dict[str, float] = {}
    for name, value in raw.items():
        value = overrides.get(name, value)
        if isinstance(value, str):  # an expression of earlier params keeps its own type
            try:
                value = evaluate(value, params)
            except ExpressionError as exc:
                problems.append(f"params.{name}: {exc}")
                continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"params.{name}: must be a number, got {_typename(value)}")
            continue
        params[name] = value
    return params, problems


def to_dict(net: Network) -> dict[str, Any]:
    """The file form of ``net``: every number computed.

    The params the numbers came from are kept as a record under
    ``params_resolved``, not as ``params``: loading the file with an override of
    one of them is an error (nothing in the file would change), not a silent no-op.
    """
    out: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    body = _plain(net)
    params = body.pop("params")
    if params:
        out[RESOLVED_PARAMS] = params
    out.update(body)
    return out


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        out = {"type": obj.kind} if hasattr(obj, "kind") else {}
        out.update({f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)})
        return out
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def loads(text: str, source: str = "<string>", fmt: str = "yaml",
          overrides: dict[str, float] | None = None) -> Network:
    """Parse a description from YAML (``fmt="yaml"``) or JSON text."""
    _check_format(fmt)
    try:
        data = json.loads(text) if fmt == "json" else yaml.load(text, Loader=_YAML_LOADER)
    except json.JSONDecodeError as exc:
        raise DescriptionError([f"line {exc.lineno}, column {exc.colno}: malformed JSON: "
                                f"{exc.msg}"], source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = getattr(exc, "problem", None) or str(exc)
        raise DescriptionError([f"{where}malformed YAML: {what}"], source) from None
    return from_dict(data, source, overrides)


def load(path: str | Path, overrides: dict[str, float] | None = None) -> Network:
    """Read a ``.yaml``/``.yml``/``.json`` description; ``overrides`` replace declared params."""
    path = Path(path)
    if not path.exists():
        raise DescriptionError([f"no such file (model files end in .yaml, .yml or .json)"], str(path))
    fmt = "json" if path.suffix == ".json" else "yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DescriptionError([f"not a text file ({exc.reason} at byte {exc.start}): a description is "
                                f"YAML or JSON text"], str(path)) from None
    return loads(text, str(path), fmt, overrides)


def dumps(net: Network, fmt: str = "yaml") -> str:
    """The text of ``net`` as YAML or JSON."""
    _check_format(fmt)
    data = to_dict(net)
    if fmt == "json":
        return json.dumps(data, indent=1)
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)


def _check_format(fmt: str) -> None:
    # a misspelt format would otherwise be read or written as YAML without a word
    if fmt not in ("yaml", "json"):
        raise ValueError(f"fmt must be 'yaml' or 'json', got {fmt!r}")


def dump(net: Network, path: str | Path) -> None:
    """Write ``net`` to ``path`` (JSON if it ends in ``.json``, else YAML)."""
    path = Path(path)
    path.write_text(dumps(net, "json" if path.suffix == ".json" else "yaml"))
