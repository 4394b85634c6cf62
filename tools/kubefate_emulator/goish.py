"""Small reproductions of Go library behaviour the KubeFATE server's answers depend on.

* ``encoding/base64`` StdEncoding decoding with Go's error offsets (``illegal base64 data at input byte N``);
* ``encoding/json`` binding of a request body into a struct (case-insensitive keys, type errors);
* ``sigs.k8s.io/yaml`` parsing of cluster.yaml into ``map[string]interface{}``;
* ``time.Time`` JSON (RFC 3339, zero time ``0001-01-01T00:00:00Z``);
* ``strconv`` parsing for query binding.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from typing import Any

import yaml

ZERO_TIME = "0001-01-01T00:00:00Z"

_B64 = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


class GoError(Exception):
    """An error whose message is the text the Go server would print."""


def format_time(ts: float | None) -> str:
    """A Go ``time.Time`` as JSON would print it (UTC, millisecond precision as MySQL stores it)."""
    if ts is None:
        return ZERO_TIME
    moment = dt.datetime.fromtimestamp(ts, tz=dt.UTC)
    millis = moment.microsecond // 1000
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if millis:
        text += f".{millis:03d}".rstrip("0")
    return text + "Z"


def format_time_seconds(ts: float) -> str:
    """RFC 3339 without fraction (``time.RFC3339``), as gin-jwt prints ``expire``."""
    return dt.datetime.fromtimestamp(int(ts), tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def b64decode_std(text: str) -> bytes:
    """``base64.StdEncoding.DecodeString`` including its ``CorruptInputError`` offsets."""
    src = text.encode("utf-8", errors="replace")
    n = len(src)
    si = 0
    while si < n:
        si = _decode_quantum(src, si)
    cleaned = bytes(c for c in src if c not in (0x0A, 0x0D))
    return base64.b64decode(cleaned)


def _decode_quantum(src: bytes, si: int) -> int:
    """Port of Go's ``(*Encoding).decodeQuantum`` error handling; returns the next index."""
    n = len(src)
    j = 0
    while j < 4:
        if si == n:
            if j == 0:
                return si
            raise GoError(f"illegal base64 data at input byte {si - j}")
        ch = src[si]
        si += 1
        if ch in _B64:
            j += 1
            continue
        if ch in (0x0A, 0x0D):
            continue
        if ch != 0x3D or j in (0, 1):
            raise GoError(f"illegal base64 data at input byte {si - 1}")
        if j == 2:
            while si < n and src[si] in (0x0A, 0x0D):
                si += 1
            if si == n:
                raise GoError(f"illegal base64 data at input byte {n}")
            if src[si] != 0x3D:
                raise GoError(f"illegal base64 data at input byte {si - 1}")
            si += 1
        while si < n and src[si] in (0x0A, 0x0D):
            si += 1
        if si < n:
            raise GoError(f"illegal base64 data at input byte {si}")
        return n
    return si


def b64encode_std(data: bytes | None) -> str | None:
    """How Go marshals a ``[]byte``: standard base64, ``null`` for nil."""
    if data is None:
        return None
    return base64.b64encode(data).decode()


_JSON_KIND = {str: "string", bool: "bool", int: "number", float: "number", dict: "object", list: "array"}


def json_kind(value: Any) -> str:
    return _JSON_KIND.get(type(value), "value")


def parse_json_body(body: bytes) -> Any:
    """``json.NewDecoder(body).Decode`` errors in Go's words."""
    text = body.decode("utf-8", errors="replace")
    if not text.strip():
        raise GoError("EOF")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated"):
            raise GoError("unexpected EOF") from exc
        char = text[exc.pos]
        where = "looking for beginning of value"
        for python_msg, go_context in _JSON_CONTEXTS:
            if exc.msg.startswith(python_msg):
                where = go_context
        raise GoError(f"invalid character {char!r} {where}") from exc


_JSON_CONTEXTS = (
    ("Expecting property name", "looking for beginning of object key string"),
    ("Expecting ':' delimiter", "after object key"),
    ("Expecting ',' delimiter", "after object key:value pair"),
    ("Extra data", "after top-level value"),
    ("Invalid control character", "in string literal"),
)


def bind_struct(body: bytes, struct: str, fields: dict[str, type]) -> dict[str, Any]:
    """Decode a JSON object into a Go struct with the given json field names and types.

    Field matching is exact first, then case-insensitive (Go's rule); unknown keys are ignored;
    ``null`` leaves the zero value. Returns only the keys that were present.
    """
    doc = parse_json_body(body)
    if not isinstance(doc, dict):
        raise GoError(f"json: cannot unmarshal {json_kind(doc)} into Go value of type modules.{struct}")
    folded = {name.lower(): name for name in fields}
    out: dict[str, Any] = {}
    for key, value in doc.items():
        name = key if key in fields else folded.get(key.lower())
        if name is None or value is None:
            continue
        want = fields[name]
        ok = isinstance(value, want) and not (want is not bool and isinstance(value, bool))
        if want is bytes:
            ok = isinstance(value, str)
        if not ok:
            gotype = {str: "string", bool: "bool", bytes: "[]uint8", int: "int"}.get(want, "value")
            raise GoError(
                f"json: cannot unmarshal {json_kind(value)} into Go struct field {struct}.{name} of type {gotype}"
            )
        out[name] = b64decode_std(value) if want is bytes else value
    return out


class _SpecLoader(yaml.SafeLoader):
    """YAML 1.1 like go-yaml v2, but timestamps stay strings as they do through sigs.k8s.io/yaml."""


_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _stringify_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {_key(k): _stringify_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify_keys(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)


def parse_spec(text: str) -> dict:
    """``yaml.Unmarshal([]byte(values), &spec)`` with spec a ``map[string]interface{}``."""
    try:
        doc = yaml.load(text, Loader=_SpecLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise GoError(f"error converting YAML to JSON: yaml: {line}{problem}") from exc
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise GoError(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal "
            f"{json_kind(doc)} into Go value of type map[string]interface {{}}"
        )
    return _stringify_keys(doc)


def sort_keys(value: Any) -> Any:
    """Go marshals maps with sorted keys."""
    if isinstance(value, dict):
        return {k: sort_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sort_keys(v) for v in value]
    return value


def parse_bool(text: str) -> bool:
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise GoError(f'strconv.ParseBool: parsing "{text}": invalid syntax')


def parse_int(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", text):
        raise GoError(f'strconv.ParseInt: parsing "{text}": invalid syntax')
    return int(text)


def version_tuple(version: str) -> tuple[int, ...]:
    """``v1.11.2`` → (1, 11, 2); pre-release suffixes are ignored."""
    core = version.strip().lstrip("vV").split("-", 1)[0].split("+", 1)[0]
    parts = []
    for piece in core.split("."):
        digits = re.match(r"\d*", piece).group(0)
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def human_duration(seconds: float) -> str:
    """``k8s.io/apimachinery/pkg/util/duration.HumanDuration`` (roughly)."""
    s = int(seconds)
    if s < 0:
        return "<invalid>"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    return f"{hours // 24}d"
