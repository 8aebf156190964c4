"""Check REST requests against Discord's OpenAPI spec (discord/discord-api-spec ``specs/openapi.json``).

Why: the emulator answers whatever we send it, so a typo in a route or a payload field would pass every test
and fail only against the real Discord. The test suite therefore hands every request the emulator receives to
`OpenAPIValidator.validate`, which reports:

* an unknown route (no path template of the spec matches the concrete path) or a method the route lacks;
* path parameters that violate their schema (a snowflake that is not a decimal string, for instance);
* unknown query parameters, or values that do not fit the parameter's schema;
* a JSON body on an operation that takes none, a missing required body, or a body that does not validate
  against the operation's ``requestBody`` schema (``application/json``), with ``$ref`` resolved through the
  whole spec document (the spec is OpenAPI 3.1, whose schemas are JSON Schema 2020-12).

Matching a concrete path to a template prefers literal segments over placeholders, so ``/users/@me`` matches
``/users/@me`` and not ``/users/{user_id}``, and ``/channels/1/messages/pins`` is not taken for a message id.
Validators are built lazily per operation and cached, because the spec has hundreds of operations and a test
run uses a few dozen.

The spec's own README warns it may be imprecise; when it is, fix the call site if Discord's docs agree with
the spec, otherwise record the discrepancy here rather than weakening the check.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit

import attrs
import jsonschema
import orjson
import referencing
import referencing.jsonschema

__all__ = ["OpenAPIValidator", "Problem", "RouteMatch"]

_SPEC_URI: Final = "urn:discord:openapi"
_API_PREFIX: Final = re.compile(r"^/api(?:/v\d+)?(?=/)")
_METHODS: Final = ("get", "post", "put", "patch", "delete")
_MAX_ERRORS_PER_BODY: Final = 5


@attrs.frozen(slots=True)
class Problem:
    """One thing wrong with one request."""

    method: str
    path: str  # the template when the route is known, else the concrete path
    message: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}: {self.message}"


@attrs.frozen(slots=True)
class RouteMatch:
    template: str
    params: dict[str, str]


@attrs.frozen(slots=True)
class _Template:
    template: str
    segments: tuple[str | None, ...]  # None marks a placeholder
    names: tuple[str, ...]
    literal_count: int


def _escape_pointer(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class OpenAPIValidator:
    """Validates (method, concrete path, query, JSON body) against the spec."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self._spec = spec
        paths: Mapping[str, Any] = spec.get("paths", {})
        self._by_length: dict[int, list[_Template]] = {}
        for template in paths:
            parts = template.strip("/").split("/")
            segments = tuple(None if p.startswith("{") and p.endswith("}") else p for p in parts)
            names = tuple(p[1:-1] for p in parts if p.startswith("{") and p.endswith("}"))
            literal = sum(1 for s in segments if s is not None)
            self._by_length.setdefault(len(parts), []).append(_Template(template, segments, names, literal))
        for candidates in self._by_length.values():
            # Most literal segments first; among equals, literals earlier in the path win.
            candidates.sort(key=lambda t: (-t.literal_count, [s is None for s in t.segments]))
        resource = referencing.Resource.from_contents(
            dict(spec), default_specification=referencing.jsonschema.DRAFT202012
        )
        self._registry: referencing.Registry[Any] = referencing.Registry().with_resource(_SPEC_URI, resource)
        self._validators: dict[str, jsonschema.protocols.Validator] = {}

    @classmethod
    def from_file(cls, path: str | Path) -> OpenAPIValidator:
        return cls(orjson.loads(Path(path).read_bytes()))

    # ------------------------------------------------------------------------------------------ matching

    def match(self, path: str) -> RouteMatch | None:
        """The spec template matching a concrete path (API prefix and query string are ignored)."""
        bare = _API_PREFIX.sub("", urlsplit(path).path)
        parts = bare.strip("/").split("/")
        for candidate in self._by_length.get(len(parts), ()):
            params: dict[str, str] = {}
            names = iter(candidate.names)
            for segment, part in zip(candidate.segments, parts, strict=True):
                if segment is None:
                    if not part:
                        break
                    params[next(names)] = unquote(part)
                elif segment != part:
                    break
            else:
                return RouteMatch(candidate.template, params)
        return None

    # ------------------------------------------------------------------------------------------ validation

    def validate(self, method: str, path: str, body: object | None = None) -> list[Problem]:
        """Everything wrong with this request (empty when it conforms). ``path`` may carry a query string."""
        method = method.upper()
        found = self.match(path)
        if found is None:
            return [Problem(method, urlsplit(path).path, "no such route in Discord's OpenAPI spec")]
        template = found.template
        item: Mapping[str, Any] = self._spec["paths"][template]
        operation = item.get(method.lower())
        if not isinstance(operation, Mapping):
            allowed = ", ".join(m.upper() for m in _METHODS if m in item)
            return [Problem(method, template, f"method not allowed on this route (spec has {allowed})")]
        problems: list[Problem] = []
        parameters = [*item.get("parameters", ()), *operation.get("parameters", ())]
        path_schemas = {p["name"]: p.get("schema", {}) for p in parameters if p.get("in") == "path"}
        for name, value in found.params.items():
            schema = path_schemas.get(name)
            if schema is not None:
                for message in self._errors(f"/paths/{template}#{name}", schema, value):
                    problems.append(Problem(method, template, f"path parameter {name}={value!r}: {message}"))
        query_params = {p["name"]: p.get("schema", {}) for p in parameters if p.get("in") == "query"}
        for name, raw in parse_qsl(urlsplit(path).query, keep_blank_values=True):
            schema = query_params.get(name)
            if schema is None:
                problems.append(Problem(method, template, f"unknown query parameter {name!r}"))
                continue
            for message in self._errors(f"/paths/{template}?{name}", schema, self._coerce_query(schema, raw)):
                problems.append(Problem(method, template, f"query parameter {name}={raw!r}: {message}"))
        problems.extend(self._check_body(method, template, operation, body))
        return problems

    def _check_body(
        self, method: str, template: str, operation: Mapping[str, Any], body: object | None
    ) -> list[Problem]:
        request_body = operation.get("requestBody")
        if request_body is None:
            if body is not None:
                return [Problem(method, template, "this operation takes no request body")]
            return []
        if body is None:
            if request_body.get("required"):
                return [Problem(method, template, "missing required JSON body")]
            return []
        content = request_body.get("content", {})
        if "application/json" not in content:
            return [Problem(method, template, "operation has no application/json body in the spec")]
        pointer = "/".join(
            _escape_pointer(p)
            for p in (
                "paths",
                template,
                method.lower(),
                "requestBody",
                "content",
                "application/json",
                "schema",
            )
        )
        return [
            Problem(method, template, f"body {message}")
            for message in self._errors(pointer, {"$ref": f"{_SPEC_URI}#/{pointer}"}, body)
        ]

    @staticmethod
    def _coerce_query(schema: Mapping[str, Any], raw: str) -> object:
        kind = schema.get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        if "integer" in kinds:
            try:
                return int(raw)
            except ValueError:
                return raw
        if "boolean" in kinds:
            return {"true": True, "false": False}.get(raw.lower(), raw)
        return raw

    def _errors(self, cache_key: str, schema: Mapping[str, Any], instance: object) -> Iterator[str]:
        validator = self._validators.get(cache_key)
        if validator is None:
            root = dict(schema)
            if "$ref" in root and not str(root["$ref"]).startswith(_SPEC_URI):
                root["$ref"] = _SPEC_URI + str(root["$ref"])
            validator = jsonschema.Draft202012Validator(root, registry=self._registry)
            self._validators[cache_key] = validator
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        for error in errors[:_MAX_ERRORS_PER_BODY]:
            where = error.json_path
            yield f"at {where}: {_short(error)}"


def _leaves(error: jsonschema.ValidationError) -> Iterator[jsonschema.ValidationError]:
    if not error.context:
        yield error
        return
    for sub in error.context:
        yield from _leaves(sub)


def _short(error: jsonschema.ValidationError) -> str:
    message = str(error.message)
    if error.context:
        # anyOf/oneOf: the deepest failure is usually the real mistake (a wrong field inside the branch whose
        # discriminator matched), not the "type is not 8" of every other branch.
        deepest = max(
            _leaves(error), key=lambda e: (len(e.absolute_path), e.validator not in ("const", "enum"))
        )
        message = f"matches none of the allowed shapes; closest: {deepest.message} (at {deepest.json_path})"
    return message if len(message) <= 300 else message[:297] + "..."
