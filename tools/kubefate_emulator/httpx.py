"""HTTP plumbing shared by the API and the control routes: responses, gin-style routing, multipart."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from typing import Any

JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain"
HTML_TYPE = "text/html; charset=utf-8"

NGINX_REASONS = {
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
    500: "Internal Server Error",
    429: "Too Many Requests",
}


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)


def go_json(obj: Any) -> bytes:
    """``encoding/json.Marshal``: compact, UTF-8, with ``<``, ``>``, ``&`` escaped as gin does."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text.encode()


def json_response(status: int, obj: Any) -> Response:
    return Response(status, go_json(obj))


def error(status: int, message: str) -> Response:
    return json_response(status, {"error": message})


def not_found() -> Response:
    return Response(404, b"404 page not found", TEXT_TYPE)


def nginx_error(status: int) -> Response:
    """The HTML page ingress-nginx answers with when the backend is unavailable."""
    title = f"{status} {NGINX_REASONS.get(status, 'Error')}"
    body = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    return Response(status, body.encode(), "text/html")


@dataclass
class Request:
    method: str
    path: str
    raw_query: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    client: str = ""
    params: dict[str, str] = field(default_factory=dict)
    user: str = ""

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def cookies(self) -> dict[str, str]:
        out = {}
        for piece in self.header("cookie").split(";"):
            if "=" in piece:
                key, _, value = piece.strip().partition("=")
                out.setdefault(key, value)
        return out


Handler = Callable[[Request], Response]


@dataclass
class Route:
    method: str
    pattern: str
    handler: Handler
    auth: bool = True

    @property
    def segments(self) -> list[str]:
        return self.pattern.split("/")[1:]

    def match(self, path: str) -> dict[str, str] | None:
        parts = path.split("/")[1:]
        segments = self.segments
        if len(parts) != len(segments):
            return None
        params = {}
        for seg, part in zip(segments, parts, strict=True):
            if seg.startswith(":"):
                if not part:
                    return None
                params[seg[1:]] = part
            elif seg != part:
                return None
        return params

    @property
    def static_score(self) -> int:
        return sum(1 for s in self.segments if not s.startswith(":"))


class Router:
    """gin's router as far as a client can tell: exact match, trailing-slash redirects, 404."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Handler, auth: bool = True) -> None:
        self.routes.append(Route(method, pattern, handler, auth))

    def find(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        best: tuple[Route, dict[str, str]] | None = None
        for route in self.routes:
            if route.method != method:
                continue
            params = route.match(path)
            if params is not None and (best is None or route.static_score > best[0].static_score):
                best = (route, params)
        return best

    def resolve(self, method: str, path: str, raw_query: str) -> tuple[Route, dict[str, str]] | Response:
        found = self.find(method, path)
        if found is not None:
            return found
        # RedirectTrailingSlash (gin default): 301 for GET, 307 for anything else.
        other = path[:-1] if path.endswith("/") and len(path) > 1 else path + "/"
        if self.find(method, other) is not None:
            location = other + (f"?{raw_query}" if raw_query else "")
            if method == "GET":
                body = f'<a href="{location}">Moved Permanently</a>.\n\n'.encode()
                return Response(301, body, HTML_TYPE, {"Location": location})
            return Response(307, b"", None, {"Location": location})
        return not_found()


class MultipartError(Exception):
    pass


@dataclass
class Part:
    name: str
    filename: str | None
    content: bytes


def parse_multipart(content_type: str, body: bytes) -> list[Part]:
    """Parse a ``multipart/form-data`` body with the stdlib email parser."""
    if not content_type.lower().startswith("multipart/"):
        raise MultipartError("request Content-Type isn't multipart/form-data")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise MultipartError("no multipart boundary param in Content-Type")
    parts = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True)
        parts.append(Part(str(name), part.get_filename(), payload if isinstance(payload, bytes) else b""))
    return parts
