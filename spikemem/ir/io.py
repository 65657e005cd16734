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

import yaml

from spikemem.errors import DescriptionError
from spikemem.ir.expr import ExpressionError, evaluate
from spikemem.ir.network import Network

SCHEMA_VERSION = 1
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built in
_FAIL = object()


class _Reader:
    def __init__(self, params: dict[str, float]):
        self.params = params
        self.problems: list[str] = []

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
            return self.fail(path, f"unknown type {kind!r} (one of: {kinds})")
        if isinstance(value, list) and any(typing.get_origin(o) is list for o in options):
            return self.read(next(o for o in options if typing.get_origin(o) is list), value, path)
        if (float in options or int in options) and isinstance(value, (int, float, str)):
            return self._number(float if float in options else int, value, path)
        if len(tagged) == 1 and isinstance(value, dict):
            return self._dataclass(tagged[0], value, path)
        kinds = ", ".join(getattr(o, "kind", getattr(o, "__name__", str(o))) for o in options
                          if o is not type(None))
        return self.fail(path, f"must be one of: {kinds}; got {_typename(value)}")

    def _dataclass(self, cls: type, value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            return self.fail(path, f"must be a mapping with the fields of {cls.__name__}, "
                                   f"got {_typename(value)}")
        hints, fields = _schema(cls)
        kwargs, ok = {}, True
        for key, item in value.items():
            if key == "type" and hasattr(cls, "kind"):
                continue
            if key not in fields:
                ok = False
                self.fail(f"{path}.{key}" if path else key,
                          f"unknown field (fields of {cls.__name__}: {', '.join(fields)})")
                continue
            parsed = self.read(hints[key], item, f"{path}.{key}" if path else key)
            ok &= parsed is not _FAIL
            kwargs[key] = parsed
        for name, f in fields.items():
            if name not in value and f.default is dataclasses.MISSING \
                    and f.default_factory is dataclasses.MISSING:
                ok = False
                self.fail(f"{path}.{name}" if path else name, "missing required field")
        return cls(**kwargs) if ok else _FAIL


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
    params, param_problems = _resolve_params(data.pop("params", None) or {}, overrides or {})
    problems += param_problems
    data.pop("params_resolved", None)
    reader = _Reader(params)
    net = reader._dataclass(Network, data, "")
    problems += reader.problems
    if net is _FAIL or problems:
        raise DescriptionError(problems, source)
    net.params = params
    net.check(source)
    return net


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
    """The file form of ``net`` (numbers resolved; ``params`` kept for the record)."""
    out: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    body = _plain(net)
    params = body.pop("params")
    if params:
        out["params"] = params
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
    return obj


def loads(text: str, source: str = "<string>", fmt: str = "yaml",
          overrides: dict[str, float] | None = None) -> Network:
    """Parse a description from YAML (``fmt="yaml"``) or JSON text."""
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
    return loads(path.read_text(), str(path), fmt, overrides)


def dumps(net: Network, fmt: str = "yaml") -> str:
    """The text of ``net`` as YAML or JSON."""
    data = to_dict(net)
    if fmt == "json":
        return json.dumps(data, indent=1)
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)


def dump(net: Network, path: str | Path) -> None:
    """Write ``net`` to ``path`` (JSON if it ends in ``.json``, else YAML)."""
    path = Path(path)
    path.write_text(dumps(net, "json" if path.suffix == ".json" else "yaml"))
