"""HTTP server: the KubeFATE API plus the emulator's control API, faults and request recording."""

from __future__ import annotations

import json
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import goish
from .api import Api
from .httpx import (
    JSON_TYPE,
    MultipartError,
    Request,
    Response,
    go_json,
    json_response,
    nginx_error,
    parse_multipart,
)
from .options import OptionError, Options
from .state import HelmError, Release, Revision, State

CONTROL_PREFIX = "/_emulator"
MAX_RECORDED = 20_000  # oldest requests are dropped beyond this
REDACTED = "<redacted>"


class Emulator:
    """The emulated KubeFATE service: state, API, faults, recording and the control API."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.state = State(options)
        self.api = Api(self.state)
        self._restart_timer: threading.Timer | None = None
        self.schedule_restart(options.restart_after)

    # ------------------------------------------------------------------ restarts

    def schedule_restart(self, seconds: float | None) -> None:
        if self._restart_timer is not None:
            self._restart_timer.cancel()
            self._restart_timer = None
        if seconds is not None:
            self._restart_timer = threading.Timer(seconds, self._timed_restart)
            self._restart_timer.daemon = True
            self._restart_timer.start()

    def _timed_restart(self) -> None:
        self.log("emulated restart (restart_after)")
        self.state.restart()

    def log(self, message: str, force: bool = False) -> None:
        if force or not self.options.quiet:
            sys.stderr.write(f"[kubefate-emulator] {message}\n")
            sys.stderr.flush()

    # ------------------------------------------------------------------ requests

    def handle(self, req: Request) -> Response:
        if req.path == CONTROL_PREFIX or req.path.startswith(CONTROL_PREFIX + "/"):
            try:
                return self.control(req)
            except (OptionError, ValueError, goish.GoError) as exc:
                return json_response(400, {"error": str(exc)})
            except Exception as exc:  # a bug in the emulator: say so instead of dropping the connection
                self.log(f"control API error: {exc!r}", force=True)
                return json_response(500, {"error": f"emulator error: {exc!r}"})
        started = time.time()
        fault = None
        with self.state.lock:
            opts = self.options
            down = self.state.down_until > started
            latency = opts.latency
            inject = None
            if (
                req.path.startswith("/v1")
                and opts.http_error_rate > 0
                and self.state.rng.random() < opts.http_error_rate
            ):
                inject = self.state.rng.choice(opts.http_error_codes)
            after = opts.http_error_after
        if down:
            response = nginx_error(503)
            fault = "restarting"
        else:
            if latency:
                time.sleep(latency)
            if inject is not None and not after:
                response = nginx_error(inject)
                fault = f"http_error {inject}"
            else:
                try:
                    response = self.api.dispatch(req)
                except Exception as exc:  # gin Recovery: 500 with an empty body
                    import traceback  # noqa: PLC0415

                    traceback.print_exc()
                    self.log(f"panic: {exc}")
                    response = Response(500, b"", None)
                if inject is not None:
                    response = nginx_error(inject)
                    fault = f"http_error {inject} (after processing)"
        self.record(req, response, started, fault)
        return response

    def record(self, req: Request, response: Response, started: float, fault: str | None) -> None:
        headers = {}
        for key, value in req.headers.items():
            if key == "authorization":
                scheme = value.split(" ", 1)[0] if " " in value else ""
                headers[key] = f"{scheme} {REDACTED}".strip()
            elif key == "cookie" and "jwt=" in value:
                headers[key] = REDACTED
            else:
                headers[key] = value
        query = {k: (REDACTED if k == "token" else v[-1]) for k, v in req.query.items()}
        entry = {
            "time": goish.format_time(started),
            "method": req.method,
            "path": req.path,
            "query": query,
            "headers": headers,
            "body": recorded_body(req),
            "status": response.status,
            "duration": round(time.time() - started, 4),
            "fault": fault,
        }
        with self.state.lock:
            self.state.request_seq += 1
            entry = {"seq": self.state.request_seq, **entry}
            self.state.requests.append(entry)
            if len(self.state.requests) > MAX_RECORDED:
                del self.state.requests[: len(self.state.requests) - MAX_RECORDED]

    # ------------------------------------------------------------------ control API

    def control(self, req: Request) -> Response:
        path = req.path[len(CONTROL_PREFIX) :].rstrip("/") or "/"
        method = req.method
        state = self.state
        if path == "/" and method == "GET":
            return json_response(200, {"routes": CONTROL_ROUTES})
        if path == "/requests" and method == "GET":
            since = int(req.arg("since") or 0)
            with state.lock:
                items = [r for r in state.requests if r["seq"] > since]
            if req.arg("method"):
                items = [r for r in items if r["method"] == req.arg("method").upper()]
            if req.arg("path_prefix"):
                items = [r for r in items if r["path"].startswith(req.arg("path_prefix"))]
            return json_response(200, items)
        if path == "/requests" and method == "DELETE":
            with state.lock:
                count = len(state.requests)
                state.requests = []
            return json_response(200, {"cleared": count})
        if path == "/faults" and method == "GET":
            return json_response(200, self.options.to_dict())
        if path == "/faults" and method in ("POST", "PUT", "PATCH"):
            changes = _json_object(req)
            if "fail_module" in changes:  # the command-line spelling
                changes["fail_modules"] = changes.pop("fail_module")
            with state.lock:
                coerced = self.options.changed(changes)
                self.options.apply(coerced)
                if "seed" in coerced:
                    state.rng.seed(coerced["seed"])
                if "charts_dir" in coerced:
                    state.load_repo(coerced["charts_dir"])
            if "restart_after" in coerced:
                self.schedule_restart(coerced["restart_after"])
            self.log(f"faults changed: {json.dumps(coerced)}")
            return json_response(200, self.options.to_dict())
        if path == "/restart" and method == "POST":
            doc = _json_object(req) if req.body.strip() else {}
            ephemeral = doc.get("ephemeral_db")
            if ephemeral is not None and not isinstance(ephemeral, bool):
                raise OptionError("ephemeral_db must be true or false")
            state.restart(ephemeral)
            self.log(f"emulated restart (ephemeral_db={ephemeral})")
            return json_response(200, state.summary())
        if path == "/state" and method == "GET":
            return json_response(200, state.summary())
        if path == "/namespaces" and method == "GET":
            with state.lock:
                return json_response(200, sorted(state.namespaces))
        if path == "/namespaces" and method == "POST":
            name = _json_object(req).get("name")
            if not isinstance(name, str) or not name:
                raise OptionError('body must be {"name": "<namespace>"}')
            with state.lock:
                created = name not in state.namespaces
                state.namespaces.setdefault(name, time.time())
            return json_response(201 if created else 200, {"name": name, "created": created})
        if path.startswith("/namespaces/") and method == "DELETE":
            name = path[len("/namespaces/") :]
            with state.lock:
                existed = state.namespaces.pop(name, None) is not None
            return json_response(200 if existed else 404, {"name": name, "deleted": existed})
        if path == "/releases" and method == "POST":
            return self._inject_release(_json_object(req))
        if path.startswith("/releases/") and method == "DELETE":
            namespace, _, name = path[len("/releases/") :].partition("/")
            try:
                state.helm_uninstall(name, namespace)
            except HelmError as exc:
                return json_response(404, {"error": str(exc)})
            return json_response(200, {"deleted": f"{namespace}/{name}"})
        return json_response(404, {"error": f"unknown control route {method} {req.path}", "routes": CONTROL_ROUTES})

    def _inject_release(self, doc: dict[str, Any]) -> Response:
        """Create a helm release out of band (as if installed by hand or left over after a DB loss)."""
        name, namespace = doc.get("name"), doc.get("namespace")
        if not isinstance(name, str) or not isinstance(namespace, str) or not name or not namespace:
            raise OptionError("body needs name and namespace")
        spec = doc.get("spec")
        chart_name = str(doc.get("chart_name") or "")
        chart_version = str(doc.get("chart_version") or "")
        state = self.state
        if spec is not None:
            if isinstance(spec, str):
                spec = goish.parse_spec(spec)
            package = state.repo.get((chart_name, chart_version))
            with state.lock:
                row = state.chart_by_name(chart_name, chart_version)
                package = row.package if row is not None else package
            if package is None:
                return json_response(400, {"error": f"chart {chart_name} {chart_version} not available"})
            try:
                objects = state.render(package, spec, name, namespace)
                state.helm_install(name, namespace, package, spec, objects)
            except HelmError as exc:
                return json_response(400, {"error": str(exc)})
        else:
            with state.lock:
                if (namespace, name) in state.releases:
                    return json_response(400, {"error": "cannot re-use a name that is still in use"})
                release = Release(name=name, namespace=namespace)
                release.history.append(Revision(1, chart_name, chart_version, {}, [], {}, time.time()))
                state.releases[(namespace, name)] = release
                state.namespaces.setdefault(namespace, time.time())
        return json_response(201, {"release": f"{namespace}/{name}"})


CONTROL_ROUTES = [
    "GET /_emulator/requests[?since=SEQ&method=M&path_prefix=P]",
    "DELETE /_emulator/requests",
    "GET /_emulator/faults",
    "POST /_emulator/faults {option: value, ...}",
    'POST /_emulator/restart [{"ephemeral_db": true}]',
    "GET /_emulator/state",
    "GET /_emulator/namespaces",
    'POST /_emulator/namespaces {"name": NS}',
    "DELETE /_emulator/namespaces/NS",
    'POST /_emulator/releases {"name", "namespace", ["chart_name", "chart_version", "spec"]}',
    "DELETE /_emulator/releases/NS/NAME",
]


def _json_object(req: Request) -> dict[str, Any]:
    try:
        doc = json.loads(req.body or b"{}")
    except ValueError as exc:
        raise OptionError(f"body is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise OptionError("body must be a JSON object")
    return doc


def recorded_body(req: Request) -> Any:
    if not req.body:
        return None
    ctype = req.header("content-type")
    if ctype.lower().startswith("multipart/"):
        try:
            parts = parse_multipart(ctype, req.body)
        except MultipartError:
            return {"multipart": "unparsable", "size": len(req.body)}
        out: dict[str, Any] = {}
        for part in parts:
            if part.filename is not None:
                out[part.name] = {"file": part.filename, "size": len(part.content)}
            else:
                out[part.name] = part.content.decode("utf-8", errors="replace")
        return out
    text = req.body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    emulator: Emulator  # set on the subclass by make_server

    def _serve(self) -> None:
        split = urlsplit(self.path)
        body = self._read_body()
        if body is None:
            return
        req = Request(
            method=self.command,
            path=split.path,
            raw_query=split.query,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            client=self.client_address[0],
        )
        response = self.emulator.handle(req)
        self._send(response)

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._send(Response(400, b"bad Content-Length", "text/plain"))
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, response: Response) -> None:
        self.send_response_only(response.status)
        self.send_header("Date", self.date_time_string())
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
        self._log(response.status)

    def _log(self, status: int) -> None:
        if not self.emulator.options.quiet:
            sys.stderr.write(
                f"[GIN] {time.strftime('%Y/%m/%d - %H:%M:%S')} | {status:3d} | {self.command} {self.path}\n"
            )

    def log_message(self, format: str, *args: Any) -> None:
        pass

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError)):
            return  # a TLS client that refused the certificate, or went away: nothing to report
        super().handle_error(request, client_address)


def make_server(emulator: Emulator) -> Server:
    handler = type("BoundHandler", (Handler,), {"emulator": emulator})
    server = Server((emulator.options.host, emulator.options.port), handler)
    options = emulator.options
    if options.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(options.tls_cert, options.tls_key or None)
        # The handshake happens in the request thread (not in accept), so a client that rejects the
        # certificate only ends its own connection.
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    return server


def serve(options: Options) -> None:
    emulator = Emulator(options)
    if emulator.state.repo_dir is None:
        emulator.log(
            "the reference KubeFATE charts are not available (no --charts-dir and no ../shared/kubefate/charts): "
            "the chart repository is empty, so charts must be uploaded with POST /v1/chart or given with "
            "--charts-dir",
            force=True,
        )
    else:
        available = sorted(f"{n}:{v}" for (n, v) in emulator.state.repo if emulator.state.repo_lookup(n, v))
        emulator.log(f"chart repository {emulator.state.repo_dir}: {', '.join(available) or 'empty'}")
    if options.start_delay:
        emulator.log(f"start delay: binding in {options.start_delay} s")
        time.sleep(options.start_delay)
    server = make_server(emulator)
    threading.Thread(target=_warm_up, args=(emulator,), daemon=True).start()
    scheme = "https" if options.tls_cert else "http"
    emulator.log(f"listening on {scheme}://{options.host}:{server.server_address[1]}")
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _warm_up(emulator: Emulator) -> None:
    """Import the heavy chart libraries in the background so the first install is not slow."""
    try:
        import helm_python  # noqa: F401, PLC0415
        import kubernetes_validate  # noqa: F401, PLC0415
    except ImportError:
        emulator.log("helm-python-sdk or kubernetes-validate missing: every install will fail to render", force=True)


__all__ = ["JSON_TYPE", "Emulator", "go_json", "make_server", "serve"]
