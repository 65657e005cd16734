"""``compile`` refuses, by name, an option its backend does not take, before touching the engine."""
from __future__ import annotations

import importlib
import inspect

import pytest

import spikemem
from spikemem import IFCurrExp, Network, Population, SpikememError
from spikemem.backends import BACKENDS, OPTIONS, UnknownOption


def _tiny() -> Network:
    return Network(dt=1.0, populations=[Population("a", 1, IFCurrExp(integration="exact"))])


def test_options_table_matches_the_backends_signatures():
    # every backend's options are keyword parameters of its module's compile(); the backends
    # sharing one module cover all of that function's parameters between them
    by_module: dict[str, set[str]] = {}
    for backend, (module_name, _engine, _extra) in BACKENDS.items():
        params = inspect.signature(importlib.import_module(module_name).compile).parameters
        # `net` is the network; the registry itself passes `engine` to the PyNN module
        takes = [p for p in params if p not in ("net", "engine")]
        assert set(OPTIONS[backend]) <= set(takes), backend
        assert list(OPTIONS[backend]) == [p for p in takes if p in OPTIONS[backend]], "signature order"
        by_module.setdefault(module_name, set()).update(OPTIONS[backend])
        assert by_module[module_name] <= set(takes)
    for module_name, names in by_module.items():
        params = inspect.signature(importlib.import_module(module_name).compile).parameters
        assert names == set(params) - {"net", "engine"}, module_name
    assert set(OPTIONS) == set(BACKENDS)


def test_target_on_nest_is_refused_naming_both_backends():
    with pytest.raises(UnknownOption) as info:
        spikemem.compile(_tiny(), backend="pynn.nest", target="numpy")
    assert str(info.value) == ("backend 'pynn.nest' takes no option 'target' (it takes: threads, approximations); "
                               "'target' is an option of: brian2")
    assert isinstance(info.value, SpikememError) and isinstance(info.value, TypeError)


@pytest.mark.parametrize("backend, options, message", [
    ("brian2", {"threads": 2}, "backend 'brian2' takes no option 'threads' (it takes: target, standalone_dir); "
                               "'threads' is an option of: pynn.nest"),
    ("brian2", {"approximations": ("integration",)},
     "'approximations' is an option of: pynn.nest, pynn.brian2, pynn.spinnaker"),
    ("pynn.brian2", {"threads": 2, "colour": "red"},
     "backend 'pynn.brian2' takes no options 'threads', 'colour' (it takes: approximations); "
     "'threads' is an option of: pynn.nest; no backend takes 'colour'"),
    ("pynn.nest", {"engine": "pynn.brian2"}, "takes no option 'engine'"),
])
def test_misplaced_options_are_refused(backend, options, message, monkeypatch):
    # refused before the engine is looked up: a missing engine would raise MissingEngine instead
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: pytest.fail("engine looked up"))
    with pytest.raises(UnknownOption) as info:
        spikemem.compile(_tiny(), backend=backend, **options)
    assert message in str(info.value)


def test_options_each_backend_takes_pass_the_check():
    from spikemem.backends import check_options
    for backend, names in OPTIONS.items():
        check_options(backend, {name: None for name in names})  # no error
