"""HTTP front of the fake: discovery, REST routing, authentication, request recording and the control API."""

from __future__ import annotations

import base64
import binascii
import copy
import json
import sys
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .catalog import GROUP_ORDER, ResourceType, version_priority
from .errors import ApiError, bad_request, forbidden, method_not_allowed, status_object
from .selectors import SelectorError, parse_field_selector, parse_label_selector
from .store import Cluster, WriteCtx

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML is optional
    yaml = None

PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
}
UNAUTHORIZED = status_object(401, "Unauthorized", "Unauthorized")
NOT_FOUND_TEXT = "the server could not find the requested resource"
MAX_RECORDED_BODY = 256 * 1024


class Recorder:
    """Every API request the fake answered (control routes excluded)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[dict] = []
        self.seq = 0

    def add(self, record: dict) -> dict:
        with self.lock:
            self.seq += 1
            record["seq"] = self.seq
            self.items.append(record)
            return record

    def clear(self) -> None:
        with self.lock:
            self.items = []

    def query(self, method: str | None = None, path_prefix: str | None = None, since: int = 0) -> list[dict]:
        with self.lock:
            return [
                copy.deepcopy(r)
                for r in self.items
                if r["seq"] > since
                and (not method or r["method"] == method.upper())
                and (not path_prefix or r["path"].startswith(path_prefix))
            ]


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], cluster: Cluster, quiet: bool = False):
        super().__init__(address, Handler)
        self.cluster = cluster
        self.recorder = Recorder()
        self.quiet = quiet
        self.stopping = False

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.stopping = True
        with self.cluster.lock:
            self.cluster.changed.notify_all()
        self.shutdown()


class _Streamed(Exception):
    """Raised after a handler wrote its own (streamed) response."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._handle("GET")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_OPTIONS(self) -> None:
        self._handle("OPTIONS")

    # ------------------------------------------------------------------ plumbing

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            return self.rfile.read(length)
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return b""

    def _send(self, code: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> None:
        if isinstance(payload, (dict, list)):
            data = json.dumps(payload).encode()
            ctype = "application/json"
        else:
            data = str(payload).encode()
            ctype = "text/plain; charset=utf-8"
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        for key, value in headers or []:
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self, method: str) -> None:
        started = time.monotonic()
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        raw = self._read_body()
        if path == "/_fake" or path.startswith("/_fake/"):
            try:
                code, payload = self._control(method, path, query, raw)
            except ApiError as exc:
                code, payload = exc.code, exc.status()
            except Exception as exc:  # pragma: no cover - a bug in the fake
                traceback.print_exc()
                code, payload = 500, status_object(500, "InternalError", f"kube-fake: {exc}")
            self._send(code, payload)
            return
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        record: dict[str, Any] = {
            "time": time.time(),
            "method": method,
            "path": path,
            "query": {k: v[0] if len(v) == 1 else v for k, v in query.items()},
            "content_type": ctype or None,
            "body": _recorded_body(raw, ctype),
            "user_agent": self.headers.get("User-Agent"),
            "status": None,
        }
        headers: list[tuple[str, str]] = []
        try:
            user = self._authenticate()
            record["user"] = user
            code, payload, warnings = self._api(method, path, query, raw, ctype, user, record)
            headers = [("Warning", _warning(w)) for w in warnings]
            if warnings:
                record["warnings"] = warnings
        except _Streamed:
            record["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
            self._log(record)
            return
        except ApiError as exc:
            code, payload = exc.code, exc.status()
        except Exception as exc:  # pragma: no cover - a bug in the fake
            traceback.print_exc()
            code, payload = 500, status_object(500, "InternalError", f"kube-fake internal error: {exc}")
        record["status"] = code
        if isinstance(payload, dict) and payload.get("kind") == "Status" and code >= 400:
            record["reason"] = payload.get("reason")
            record["message"] = payload.get("message")
        record["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
        self.server.recorder.add(record)
        self._log(record)
        self._send(code, payload, headers)

    def _log(self, record: dict) -> None:
        if self.server.quiet:
            return
        query = urllib.parse.urlencode(record["query"], doseq=True)
        sys.stderr.write(
            f"kube-fake {record['method']} {record['path']}{'?' + query if query else ''} -> {record['status']}\n"
        )

    def _authenticate(self) -> str:
        header = self.headers.get("Authorization") or ""
        token = header[7:].strip() if header.lower().startswith("bearer ") else None
        options = self.server.cluster.options
        if token and options.admin_token and token == options.admin_token:
            return "admin"
        if token and token == options.token:
            return "restricted" if options.namespace_only else "admin"
        if not header and options.anonymous:
            return "restricted" if options.namespace_only else "admin"
        raise ApiError(401, "Unauthorized", "Unauthorized")

    # ------------------------------------------------------------------ control API

    def _control(self, method: str, path: str, query: dict, raw: bytes) -> tuple[int, Any]:
        cluster = self.server.cluster
        recorder = self.server.recorder
        route = path[len("/_fake") :].strip("/")

        def q(name: str, default: str | None = None) -> str | None:
            return query.get(name, [default])[0]

        if route in ("", "health") and method == "GET":
            return 200, {
                "ok": True,
                "url": self.server.url,
                "rv": cluster.rv,
                "namespace_only": cluster.options.namespace_only,
                "unready": cluster.unready,
                "validation": cluster.validator.enabled,
                "kube_version": cluster.options.kube_version,
            }
        if route == "requests":
            if method == "GET":
                return 200, recorder.query(q("method"), q("path_prefix"), int(q("since", "0") or 0))
            if method == "DELETE":
                recorder.clear()
                return 200, {"cleared": True}
        if route == "objects":
            if method == "GET":
                objects = cluster.all_objects()
                for key in ("kind", "namespace", "apiVersion", "name"):
                    wanted = q(key)
                    if wanted is None:
                        continue
                    if key in ("kind", "apiVersion"):
                        objects = [o for o in objects if o.get(key) == wanted]
                    else:
                        objects = [o for o in objects if (o.get("metadata") or {}).get(key, "") == wanted]
                return 200, objects
            if method == "POST":
                body = _parse_body(raw, "application/json")
                items = body if isinstance(body, list) else [body]
                out = []
                for item in items:
                    rt = cluster.type_for(item.get("apiVersion", ""), item.get("kind", ""))
                    if rt is None:
                        raise bad_request(f"no resource type for {item.get('apiVersion')} {item.get('kind')}")
                    ns = (item.get("metadata") or {}).get("namespace") or ("default" if rt.namespaced else None)
                    out.append(cluster.create(rt, ns, item, WriteCtx(manager="kube-fake-control")))
                return 201, out
        if route == "reset" and method == "POST":
            cluster.reset()
            recorder.clear()
            return 200, {"reset": True}
        if route == "unready":
            if method == "GET":
                return 200, {"unready": cluster.unready}
            if method in ("POST", "PUT"):
                body = _parse_body(raw, "application/json") or {}
                patterns = body.get("unready", []) if isinstance(body, dict) else body
                return 200, {"unready": cluster.set_unready(list(patterns))}
        if route == "fields" and method == "GET":
            rt = cluster.type_for(q("apiVersion", "") or "", q("kind", "") or "")
            if rt is None:
                candidates = cluster.type_by_name(q("kind", "") or "")
                rt = candidates[0] if candidates else None
            if rt is None:
                raise bad_request("unknown kind")
            return 200, cluster.managers(rt, q("namespace"), q("name", "") or "")
        return 404, status_object(404, "NotFound", f"no control route {method} /_fake/{route}")

    # ------------------------------------------------------------------ discovery

    def _discovery(self, path: str) -> Any:
        cluster = self.server.cluster
        types = cluster.resource_types()
        options = cluster.options
        version = "v" + options.kube_version.lstrip("v")
        if path in ("/version", "/version/"):
            major, minor = version[1:].split(".")[:2]
            return {
                "major": major,
                "minor": minor,
                "gitVersion": version,
                "gitCommit": "0000000000000000000000000000000000000000",
                "gitTreeState": "clean",
                "buildDate": "2023-08-15T10:15:54Z",
                "goVersion": "go1.20.7",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        if path in ("/healthz", "/livez", "/readyz"):
            return "ok"
        if path == "/api":
            host, port = self.server.server_address[:2]
            return {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": f"{host}:{port}"}],
            }
        if path == "/api/v1":
            return _resource_list("v1", [t for t in types if t.group == ""])
        groups = _groups(types)
        if path == "/apis":
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(g, v) for g, v in groups]}
        parts = path.strip("/").split("/")
        if parts[0] == "apis" and len(parts) == 2:
            for group, versions in groups:
                if group == parts[1]:
                    return {"kind": "APIGroup", "apiVersion": "v1", **_group(group, versions)}
            raise ApiError(404, "NotFound", NOT_FOUND_TEXT)
        if parts[0] == "apis" and len(parts) == 3:
            matching = [t for t in types if t.group == parts[1] and t.version == parts[2]]
            if not matching:
                raise ApiError(404, "NotFound", NOT_FOUND_TEXT)
            return _resource_list(f"{parts[1]}/{parts[2]}", matching)
        return None

    # ------------------------------------------------------------------ API

    def _api(
        self, method: str, path: str, query: dict, raw: bytes, ctype: str, user: str, record: dict
    ) -> tuple[int, Any, list[str]]:
        cluster = self.server.cluster
        if method in ("GET", "HEAD"):
            found = self._discovery(path.rstrip("/") if path != "/" else path)
            if found is not None:
                return 200, found, []
        if path == "/":
            return 200, {"paths": ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/version"]}, []
        segs = [urllib.parse.unquote(s) for s in path.split("/") if s]
        if len(segs) < 2 or segs[0] not in ("api", "apis") or (segs[0] == "apis" and len(segs) < 3):
            raise ApiError(404, "NotFound", NOT_FOUND_TEXT)
        if segs[0] == "api":
            group, version, rest = "", segs[1], segs[2:]
        else:
            group, version, rest = segs[1], segs[2], segs[3:]
        watch_path = False
        if rest and rest[0] == "watch":
            watch_path, rest = True, rest[1:]
        namespace = None
        rt: ResourceType | None = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            candidate = cluster.find_type(group, version, rest[2])
            if candidate is not None and candidate.namespaced:
                namespace, rest = rest[1], rest[2:]
        if not rest:
            raise ApiError(404, "NotFound", NOT_FOUND_TEXT)
        rt = cluster.find_type(group, version, rest[0])
        if rt is None or len(rest) > 3:
            raise ApiError(404, "NotFound", NOT_FOUND_TEXT)
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if rt.namespaced and namespace is None and name is not None:
            raise ApiError(404, "NotFound", NOT_FOUND_TEXT)
        if sub is not None and sub not in rt.subresources:
            raise ApiError(404, "NotFound", NOT_FOUND_TEXT)
        watching = watch_path or _flag(query, "watch")
        verb = _verb(method, name, watching)
        if sub is None and verb not in rt.verbs:
            raise method_not_allowed()
        self._authorize(user, rt, verb, namespace, name)
        ctx = self._write_ctx(query, raw if method == "DELETE" else b"", ctype)
        record["dry_run"] = ctx.dry_run
        if sub is not None:
            return self._subresource(method, rt, namespace, name, sub, query, raw, ctype, ctx)
        if method in ("GET", "HEAD"):
            if name is None or watching:
                label_pred, field_pred = _predicates(query, rt)
                if name is not None:
                    inner = field_pred

                    def field_pred(obj: dict, _n: str = name, _inner: Any = inner) -> bool:
                        return (obj.get("metadata") or {}).get("name") == _n and _inner(obj)

                if watching:
                    self._watch(rt, namespace, query, label_pred, field_pred, record)
                return 200, self._list(rt, namespace, query, label_pred, field_pred), []
            return 200, cluster.get(rt, namespace, name), []
        if method == "POST":
            if name is not None:
                raise method_not_allowed()
            body = _parse_body(raw, ctype)
            if rt.namespaced and namespace is None:
                raise ApiError(404, "NotFound", NOT_FOUND_TEXT)
            return 201, cluster.create(rt, namespace, body, ctx), ctx.warnings
        if method == "PUT":
            if name is None:
                raise method_not_allowed()
            body = _parse_body(raw, ctype)
            return 200, cluster.replace(rt, namespace, name, body, ctx), ctx.warnings
        if method == "PATCH":
            if name is None:
                raise method_not_allowed()
            patch_type = _patch_type(ctype)
            body = _parse_body(raw, "application/yaml" if patch_type == "apply" else "application/json")
            if patch_type == "apply":
                if not ctx.manager_given:
                    raise ApiError(
                        400,
                        "BadRequest",
                        'PatchOptions.meta.k8s.io "" is invalid: '
                        "fieldManager: Required value: is required for apply patch",
                    )
                force = _flag(query, "force")
                existed = True
                try:
                    cluster.get(rt, namespace, name)
                except ApiError:
                    existed = False
                result = cluster.patch(rt, namespace, name, "apply", body, ctx, force=force)
                return (200 if existed else 201), result, ctx.warnings
            if _flag(query, "force"):
                raise ApiError(422, "Invalid", "force: Forbidden: may not be specified for non-apply patch")
            return 200, cluster.patch(rt, namespace, name, patch_type, body, ctx), ctx.warnings
        if method == "DELETE":
            options = _delete_options(raw, query)
            if name is None:
                label_pred, field_pred = _predicates(query, rt)
                return 200, cluster.delete_collection(rt, namespace, label_pred, field_pred, ctx, options), []
            return 200, cluster.delete(rt, namespace, name, ctx, options), []
        raise method_not_allowed()

    def _write_ctx(self, query: dict, delete_body: bytes, ctype: str) -> WriteCtx:
        dry = query.get("dryRun", [])
        if delete_body:
            try:
                options = json.loads(delete_body)
                dry = dry + list(options.get("dryRun") or [])
            except (ValueError, AttributeError):
                pass
        for value in dry:
            if value != "All":
                raise ApiError(400, "BadRequest", f'dryRun: Unsupported value: "{value}": supported values: "All"')
        manager = (query.get("fieldManager") or [""])[0]
        given = bool(manager)
        if not manager:
            agent = self.headers.get("User-Agent") or "unknown"
            manager = agent.split("/", 1)[0][:128] or "unknown"
        if len(manager) > 128:
            raise bad_request("fieldManager: Too long: may not be longer than 128")
        validation = (query.get("fieldValidation") or ["Warn"])[0]
        if validation not in ("Strict", "Warn", "Ignore"):
            raise bad_request(
                f'fieldValidation: Unsupported value: "{validation}": supported values: "Ignore", "Strict", "Warn"'
            )
        return WriteCtx(dry_run=bool(dry), manager=manager, field_validation=validation, manager_given=given)

    def _authorize(self, user: str, rt: ResourceType, verb: str, namespace: str | None, name: str | None) -> None:
        options = self.server.cluster.options
        if user != "restricted":
            return
        allowed = options.namespace_only
        if rt.kind in ("SelfSubjectAccessReview", "SelfSubjectRulesReview", "SelfSubjectReview"):
            return
        if rt.namespaced and namespace in allowed:
            return
        if rt.kind == "Namespace" and verb == "get" and name in allowed:
            return
        who = f"system:serviceaccount:{allowed[0]}:kube-fake"
        raise forbidden(rt, name, who, verb, namespace)

    def _list(self, rt: ResourceType, namespace: str | None, query: dict, label_pred: Any, field_pred: Any) -> dict:
        items, rv = self.server.cluster.list(rt, namespace, label_pred, field_pred)
        if not rt.custom:
            for item in items:
                item.pop("kind", None)
                item.pop("apiVersion", None)
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        limit = int((query.get("limit") or ["0"])[0] or 0)
        token = (query.get("continue") or [""])[0]
        offset = 0
        if token:
            try:
                offset = int(json.loads(base64.urlsafe_b64decode(token.encode()))["o"])
            except (ValueError, KeyError, TypeError, binascii.Error) as exc:
                raise ApiError(400, "BadRequest", "continue key is not valid") from exc
        if limit > 0 or offset:
            page = items[offset : offset + limit] if limit > 0 else items[offset:]
            rest = len(items) - offset - len(page)
            if rest > 0:
                meta["continue"] = base64.urlsafe_b64encode(json.dumps({"o": offset + len(page)}).encode()).decode()
                meta["remainingItemCount"] = rest
            items = page
        return {"kind": f"{rt.kind}List", "apiVersion": rt.group_version, "metadata": meta, "items": items}

    def _watch(
        self, rt: ResourceType, namespace: str | None, query: dict, label_pred: Any, field_pred: Any, record: dict
    ) -> None:
        cluster = self.server.cluster
        since_text = (query.get("resourceVersion") or [""])[0]
        since = int(since_text) if since_text.isdigit() and since_text != "0" else None
        timeout = float((query.get("timeoutSeconds") or [str(cluster.options.watch_timeout)])[0])
        timeout = min(timeout, cluster.options.watch_timeout)

        def match(obj: dict) -> bool:
            return label_pred((obj.get("metadata") or {}).get("labels") or {}) and field_pred(obj)

        record["status"] = 200
        self.server.recorder.add(record)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        try:
            for event_type, obj in cluster.watch(rt, namespace, since, match, timeout, lambda: self.server.stopping):
                line = json.dumps({"type": event_type, "object": obj}).encode() + b"\n"
                self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True
        raise _Streamed()

    # ------------------------------------------------------------------ subresources

    def _subresource(
        self,
        method: str,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        sub: str,
        query: dict,
        raw: bytes,
        ctype: str,
        ctx: WriteCtx,
    ) -> tuple[int, Any, list[str]]:
        cluster = self.server.cluster
        _kind, verbs = rt.subresources[sub]
        verb = {
            "GET": "get",
            "HEAD": "get",
            "POST": "create",
            "PUT": "update",
            "PATCH": "patch",
            "DELETE": "delete",
        }.get(method, "")
        if verb not in verbs:
            raise method_not_allowed()
        if sub in ("status", "approval", "ephemeralcontainers"):
            if verb == "get":
                return 200, cluster.get(rt, namespace, name), []
            if verb == "update":
                return (
                    200,
                    cluster.replace(rt, namespace, name, _parse_body(raw, ctype), ctx, sub="status"),
                    ctx.warnings,
                )
            patch_type = _patch_type(ctype)
            body = _parse_body(raw, "application/yaml" if patch_type == "apply" else "application/json")
            return 200, cluster.patch(rt, namespace, name, patch_type, body, ctx, sub="status"), ctx.warnings
        if sub == "scale":
            if verb == "get":
                return 200, cluster.scale(rt, namespace, name), []
            patch_type = None if verb == "update" else _patch_type(ctype)
            return (
                200,
                cluster.write_scale(rt, namespace, name, patch_type, _parse_body(raw, "application/json"), ctx),
                [],
            )
        if sub == "finalize":
            return 200, cluster.replace(rt, namespace, name, _parse_body(raw, ctype), ctx), []
        pod = cluster.get(rt, namespace, name)
        if sub == "log":
            containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
            wanted = (query.get("container") or [None])[0]
            if wanted is None:
                if len(containers) != 1:
                    raise bad_request(
                        f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
                    )
                wanted = containers[0]
            elif wanted not in containers:
                raise bad_request(f"container {wanted} is not valid for pod {name}")
            lines = [f"kube-fake: log of pod {namespace}/{name} container {wanted}", "ready"]
            tail = (query.get("tailLines") or [None])[0]
            if tail is not None:
                lines = lines[-int(tail) :] if int(tail) else []
            return 200, "".join(line + "\n" for line in lines), []
        if sub in ("exec", "attach", "portforward"):
            raise bad_request("Upgrade request required")
        if sub == "token":
            body = _parse_body(raw, ctype) or {}
            seconds = int(((body.get("spec") or {}).get("expirationSeconds")) or 3600)
            expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))
            token = base64.urlsafe_b64encode(f"{namespace}:{name}:{time.time()}".encode()).decode().rstrip("=")
            return (
                201,
                {
                    "kind": "TokenRequest",
                    "apiVersion": "authentication.k8s.io/v1",
                    "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
                    "spec": {**(body.get("spec") or {}), "expirationSeconds": seconds},
                    "status": {"token": f"kube-fake.{token}", "expirationTimestamp": expires},
                },
                [],
            )
        if sub == "eviction":
            cluster.delete(rt, namespace, name, ctx)
            return 201, status_object(201, "", "", None), []
        if sub == "binding":
            return 201, status_object(201, "", "", None), []
        raise ApiError(503, "ServiceUnavailable", f'no endpoints available for {rt.singular} "{name}"')


# ------------------------------------------------------------------ helpers


def _flag(query: dict, name: str) -> bool:
    return (query.get(name) or ["false"])[0].lower() in ("true", "1", "")


def _verb(method: str, name: str | None, watching: bool) -> str:
    if method in ("GET", "HEAD"):
        if watching:
            return "watch"
        return "get" if name else "list"
    return {
        "POST": "create",
        "PUT": "update",
        "PATCH": "patch",
        "DELETE": "delete" if name else "deletecollection",
    }.get(method, method.lower())


def _patch_type(ctype: str) -> str:
    if ctype not in PATCH_TYPES:
        raise ApiError(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format - accepted media types include: {', '.join(PATCH_TYPES)}"
            f' (got "{ctype}")',
        )
    return PATCH_TYPES[ctype]


def _parse_body(raw: bytes, ctype: str) -> Any:
    if not raw.strip():
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError as exc:
        if ("yaml" in ctype) and yaml is not None:
            try:
                return yaml.safe_load(text)
            except yaml.YAMLError as yexc:
                raise bad_request(f"error converting YAML to JSON: {yexc}") from yexc
        raise bad_request(f"couldn't get version/kind; json parse error: {exc}") from exc


def _recorded_body(raw: bytes, ctype: str) -> Any:
    if not raw:
        return None
    if len(raw) > MAX_RECORDED_BODY:
        return f"<{len(raw)} bytes>"
    try:
        return _parse_body(raw, ctype or "application/json")
    except ApiError:
        return raw.decode("utf-8", errors="replace")


def _predicates(query: dict, rt: ResourceType) -> tuple[Any, Any]:
    try:
        label_pred = parse_label_selector((query.get("labelSelector") or [""])[0])
        field_pred = parse_field_selector((query.get("fieldSelector") or [""])[0], rt.kind)
    except SelectorError as exc:
        raise bad_request(str(exc)) from exc
    return label_pred, field_pred


def _delete_options(raw: bytes, query: dict) -> dict:
    options: dict[str, Any] = {}
    if raw.strip():
        try:
            body = json.loads(raw)
            if isinstance(body, dict):
                options.update(body)
        except ValueError as exc:
            raise bad_request(f"invalid DeleteOptions: {exc}") from exc
    if query.get("propagationPolicy"):
        options["propagationPolicy"] = query["propagationPolicy"][0]
    if (query.get("orphanDependents") or [""])[0] == "true":
        options["propagationPolicy"] = "Orphan"
    policy = options.get("propagationPolicy")
    if policy and policy not in ("Orphan", "Background", "Foreground"):
        raise bad_request(f'propagationPolicy: Unsupported value: "{policy}"')
    return options


def _warning(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{escaped}"'


def _resource_list(group_version: str, types: list[ResourceType]) -> dict:
    resources = []
    for rt in sorted(types, key=lambda t: t.plural):
        resources += rt.discovery()
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}


def _groups(types: list[ResourceType]) -> list[tuple[str, list[str]]]:
    versions: dict[str, list[str]] = {}
    for rt in types:
        if rt.group and rt.version not in versions.setdefault(rt.group, []):
            versions[rt.group].append(rt.version)
    order = {g: i for i, g in enumerate(GROUP_ORDER)}
    out = []
    for group in sorted(versions, key=lambda g: (order.get(g, len(order)), g)):
        out.append((group, sorted(versions[group], key=version_priority, reverse=True)))
    return out


def _group(group: str, versions: list[str]) -> dict:
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": entries, "preferredVersion": entries[0]}
