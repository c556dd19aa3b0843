"""``http.input_policies`` read as the Rust layer reads them: an action (``block``, ``detect``, ``off``) for each
location of a request (``path``, ``query``, ``headers``, ``cookies``, ``form``, ``body``, ``json``), by route
template. The most specific entry wins: a named field (for JSON the longest matching pointer, ``*`` any one
key or index, a pointer covering everything inside its value), the location's ``"*"``, the route's
``action``; then the same in ``default``. Cookies are validated only when named.
"""

import re
from typing import Dict, List, Optional, Tuple

ACTIONS = ("block", "detect", "off")
_PARAMETER = re.compile(r"\{(\*?)[^}]*\}")


def _template_pattern(template: str) -> "re.Pattern[str]":
    """``/agents/{id}`` as a regular expression over paths; ``{*rest}`` takes the rest of the path."""
    parts, last = [], 0
    for match in _PARAMETER.finditer(template):
        parts.append(re.escape(template[last:match.start()]))
        parts.append(".*" if match.group(1) else "[^/]+")
        last = match.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts) + r"\Z")


def _pointer_segments(pointer: str) -> List[str]:
    return [segment.replace("~1", "/").replace("~0", "~") for segment in pointer.split("/")[1:]] if pointer else []


class RoutePolicy:
    """The actions of one route (its own entry, then the defaults)."""

    def __init__(self, scopes: List[dict]):
        self._scopes = scopes

    def action(self, location: str, name: Optional[str] = None) -> str:
        for scope in self._scopes:
            entry = scope.get(location)
            if isinstance(entry, str):
                return entry
            if isinstance(entry, dict):
                if name is not None and name in entry:
                    return entry[name]
                if "*" in entry:
                    return entry["*"]
            if "action" in scope:
                return scope["action"]
        return "block"

    def json_action(self, pointer: List[str]) -> str:
        for scope in self._scopes:
            entry = scope.get("json")
            if isinstance(entry, dict):
                best: Optional[Tuple[int, str]] = None
                for pattern, action in entry.items():
                    if pattern == "*":
                        continue
                    segments = _pointer_segments(pattern)
                    covers = len(segments) <= len(pointer) and all(
                        want in ("*", have) for want, have in zip(segments, pointer)
                    )
                    if covers and (best is None or len(segments) > best[0]):
                        best = (len(segments), action)
                if best is not None:
                    return best[1]
                if "*" in entry:
                    return entry["*"]
            elif isinstance(entry, str):
                return entry
            if "action" in scope:
                return scope["action"]
        return "block"

    def cookies_named(self) -> List[str]:
        names = []
        for scope in self._scopes:
            entry = scope.get("cookies")
            if isinstance(entry, dict):
                names.extend(name for name in entry if name != "*")
        return names


class Policies:
    """``http.input_policies`` of a configuration, with routes matched by their templates."""

    def __init__(self, input_policies: Dict):
        self.default = _present(input_policies.get("default") or {"action": "block"})
        self.routes = [
            (_template_pattern(template), _present(entry or {}))
            for template, entry in (input_policies.get("routes") or {}).items()
        ]
        for entry in [self.default, *(entry for _, entry in self.routes)]:
            _check(entry)

    def for_path(self, path: str) -> RoutePolicy:
        for pattern, entry in self.routes:
            if pattern.match(path):
                return RoutePolicy([entry, self.default])
        return RoutePolicy([self.default])


def _present(entry: dict) -> dict:
    """The entry without the locations it leaves unset (``None``, as a loaded configuration writes them)."""
    return {location: value for location, value in entry.items() if value is not None and value != {}}


def _check(entry: dict):
    for location, value in entry.items():
        values = value.values() if isinstance(value, dict) else [value]
        for action in values:
            if action not in ACTIONS:
                raise ValueError(f"{location}: an action is block, detect or off, not {action!r}")
