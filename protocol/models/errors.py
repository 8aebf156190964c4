"""The one error a malformed Discord payload turns into.

Why a single typed error with a path: payloads arrive from the network (gateway dispatches, REST answers,
emulator scripts) and a bad one must become one clear log line — "``$.data.options[0].value``: expected int"
— never a dead actor or a bare ``KeyError`` from deep inside a handler. The converter catches whatever cattrs
and our own hooks raise while structuring, flattens it into (path, message) pairs and raises `ModelError`,
so every caller has exactly one exception type to catch at its boundary.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs


@attrs.frozen
class ModelProblem:
    """One thing wrong with a payload: where (a JSONPath-like ``$.a.b[0]``) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ModelError(ValueError):
    """A payload could not be turned into the requested model.

    ``model`` names the class that was asked for; ``problems`` lists every bad field found (at least one);
    ``path`` is the first problem's path, the one a log line shows.
    """

    def __init__(self, model: str, problems: Sequence[ModelProblem]) -> None:
        self.model = model
        self.problems: tuple[ModelProblem, ...] = tuple(problems) or (ModelProblem("$", "malformed payload"),)
        self.path = self.problems[0].path
        shown = "; ".join(str(p) for p in self.problems[:5])
        more = f" (+{len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"malformed {model} payload: {shown}{more}")
