"""Exceptions shared by every layer.

Each error says what was wrong, where (file and field path) and, where there is
one, what to do about it.
"""
from __future__ import annotations


class SpikememError(Exception):
    """Base class of spikemem's own errors."""


class DescriptionError(SpikememError, ValueError):
    """A model description is invalid.

    ``problems`` holds every problem found, each as ``"field.path: message"``;
    ``source`` names the file (or ``"<network>"`` for one built in Python).
    """

    def __init__(self, problems: list[str], source: str = "<network>"):
        self.problems = list(problems)
        self.source = source
        lines = "\n".join(f"  {source}: {p}" for p in self.problems)
        n = len(self.problems)
        super().__init__(f"{n} problem{'s' if n != 1 else ''} in {source}:\n{lines}")


class UnsupportedFeature(SpikememError):
    """A backend cannot express a node of the description.

    Raised at compile time, naming the node (field path), the feature and the
    backend, so nothing is silently dropped or approximated.
    """

    def __init__(self, node: str, feature: str, backend: str, hint: str = ""):
        self.node, self.feature, self.backend, self.hint = node, feature, backend, hint
        msg = f"{node}: {feature} is not supported by backend '{backend}'"
        super().__init__(msg + (f". {hint}" if hint else ""))


class UnsupportedFeatures(UnsupportedFeature):
    """Several nodes a backend cannot express, reported together (``refused`` holds each).

    The message lists every node with its feature, then each distinct hint once.
    """

    def __init__(self, refused: list[UnsupportedFeature]):
        self.refused = list(refused)
        first = self.refused[0]
        self.node, self.feature, self.backend = first.node, first.feature, first.backend
        lines = [f"  {r.node}: {r.feature}" for r in self.refused]
        hints = list(dict.fromkeys(r.hint for r in self.refused if r.hint))
        SpikememError.__init__(self, f"{len(self.refused)} features are not supported by backend "
                                     f"'{first.backend}':\n" + "\n".join(lines)
                               + "".join(f"\n  - {h}" for h in hints))


class MissingEngine(SpikememError, ImportError):
    """The engine behind a backend is not installed."""

    def __init__(self, backend: str, module: str, extra: str):
        super().__init__(
            f"backend '{backend}' needs the Python package '{module}', which is not "
            f"installed. Install it with: pip install 'spikemem[{extra}]' "
            f"-c constraints.txt"
        )


class ResourceError(SpikememError):
    """A description does not fit the hardware it is exported to.

    Raised before any mapping, naming the node that overflows (population or
    projection), what it needs, what the board has, and what to do.
    """
