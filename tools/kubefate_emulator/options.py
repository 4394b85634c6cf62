"""Run-time options of the emulator: timings and faults, settable on the command line and over HTTP."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


class OptionError(ValueError):
    """A bad value for an option (the control API answers 400 with this text)."""


@dataclass
class Options:
    host: str = "127.0.0.1"
    port: int = 8080
    username: str = "admin"
    password: str = "admin"
    token_ttl: float = 1800.0
    charts_dir: str | None = None
    repo_has_all: bool = False
    job_seconds: float = 3.0
    module_spread: float = 0.5
    time_limit: float = 3600.0
    fail_modules: list[str] = field(default_factory=list)
    stuck: bool = False
    http_error_rate: float = 0.0
    http_error_codes: list[int] = field(default_factory=lambda: [502, 503, 504])
    http_error_after: bool = False
    seed: int | None = None
    latency: float = 0.0
    restart_after: float | None = None
    restart_downtime: float = 0.0
    ephemeral_db: bool = False
    start_delay: float = 0.0
    strict_namespaces: bool = False
    tls_cert: str | None = None
    tls_key: str | None = None
    node_ip: str = "192.168.0.10"
    kube_version: str = "1.28.0"
    quiet: bool = False

    #: Options fixed at start (the control API refuses to change them).
    READ_ONLY = ("host", "port", "start_delay", "tls_cert", "tls_key")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def changed(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Validate ``changes`` (JSON types) and return them coerced; raise OptionError."""
        known = {f.name: f for f in dataclasses.fields(self)}
        out: dict[str, Any] = {}
        for key, value in changes.items():
            if key not in known:
                raise OptionError(f"unknown option {key!r}; known: {', '.join(sorted(known))}")
            if key in self.READ_ONLY:
                raise OptionError(f"option {key!r} can only be set on the command line")
            out[key] = _coerce(key, value, getattr(self, key))
        return out

    def apply(self, changes: dict[str, Any]) -> None:
        for key, value in self.changed(changes).items():
            setattr(self, key, value)


_FLOATS = {"token_ttl", "job_seconds", "module_spread", "time_limit", "http_error_rate", "latency", "restart_downtime"}
_OPTIONAL_FLOATS = {"restart_after"}
_BOOLS = {"repo_has_all", "stuck", "http_error_after", "ephemeral_db", "strict_namespaces", "quiet"}
_STRINGS = {"username", "password", "node_ip", "kube_version"}


def _coerce(key: str, value: Any, current: Any) -> Any:
    if key in _BOOLS:
        if not isinstance(value, bool):
            raise OptionError(f"{key} must be true or false")
        return value
    if key in _FLOATS or (key in _OPTIONAL_FLOATS and value is not None):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise OptionError(f"{key} must be a number")
        value = float(value)
        if value < 0:
            raise OptionError(f"{key} must not be negative")
        if key in ("module_spread", "http_error_rate") and value > 1:
            raise OptionError(f"{key} must be between 0 and 1")
        return value
    if key in _OPTIONAL_FLOATS:
        return None
    if key in _STRINGS:
        if not isinstance(value, str) or (key in ("username", "password") and not value):
            raise OptionError(f"{key} must be a non-empty string")
        return value
    if key == "charts_dir":
        if value is not None and not isinstance(value, str):
            raise OptionError("charts_dir must be a path or null")
        return value
    if key == "seed":
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise OptionError("seed must be an integer or null")
        return value
    if key == "fail_modules":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise OptionError("fail_modules must be a list of workload names")
        return list(value)
    if key == "http_error_codes":
        if isinstance(value, str):
            value = [int(v) for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not value or not all(isinstance(v, int) and 100 <= v <= 599 for v in value):
            raise OptionError("http_error_codes must be a non-empty list of HTTP status codes")
        return list(value)
    raise OptionError(f"option {key!r} cannot be changed")
