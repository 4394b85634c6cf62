"""Run the KubeFATE emulator as a subprocess from tests (standard library only).

    from kubefate_emulator.testing import run_emulator

    with run_emulator(job_seconds=1, time_limit=5, fail_module=["python"]) as emu:
        status, body = emu.api("GET", "/v1/job/")
        emu.faults(stuck=True)
        assert emu.writes() == []

Keyword arguments become command-line options (``job_seconds=1`` → ``--job-seconds 1``; ``True`` → a
bare flag; ``False``/``None`` → omitted; a list → the option repeated, except ``http_error_codes``
which is joined with commas). Positional arguments are passed through verbatim.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "kubefate-emulator"
TERMINAL_JOB_STATUSES = ("Success", "Failed", "Rollback", "Canceled", "Timeout")
_JOINED = {"http_error_codes"}


class EmulatorError(RuntimeError):
    pass


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def cli_args(*args: str, **kwargs: Any) -> list[str]:
    out = [str(a) for a in args]
    for key, value in kwargs.items():
        flag = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            out.append(flag)
        elif isinstance(value, (list, tuple)):
            if key in _JOINED:
                out += [flag, ",".join(str(v) for v in value)]
            else:
                for item in value:
                    out += [flag, str(item)]
        else:
            out += [flag, str(value)]
    return out


class Emulator:
    """A running emulator: its URL and helpers for the API and the control routes."""

    def __init__(self, host: str, port: int, username: str = "admin", password: str = "admin") -> None:
        self.host = host
        self.port = port
        self.url = f"http://{host}:{port}"
        self.username = username
        self.password = password
        self._token: str | None = None
        self.process: subprocess.Popen | None = None
        self.stderr_path: Path | None = None

    # ------------------------------------------------------------------ raw HTTP

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> tuple[int, dict[str, str], bytes]:
        """One HTTP request, no redirects followed. ``body``: dict/list → JSON, str/bytes → as is."""
        data = None
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            data = body.encode()
        elif isinstance(body, bytes):
            data = body
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with _OPENER.open(req, timeout=timeout) as resp:
                return resp.status, dict(resp.headers.items()), resp.read()
        except urllib.error.HTTPError as exc:
            with contextlib.closing(exc):
                return exc.code, dict(exc.headers.items()), exc.read()

    def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """Call the KubeFATE API. ``token=None`` logs in (once, cached); ``token=""`` sends no token.

        Returns (status, body parsed as JSON, or the text when it is not JSON).
        """
        headers = dict(headers or {})
        if token is None:
            token = self.token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        status, _headers, raw = self.request(method, path, body, headers)
        return status, _parse(raw)

    def login(self, username: str | None = None, password: str | None = None) -> str:
        status, body = self.api(
            "POST",
            "/v1/user/login",
            {"username": username or self.username, "password": password or self.password},
            token="",
        )
        if status != 200:
            raise EmulatorError(f"login failed: {status} {body}")
        if username is None:
            self._token = body["token"]
        return body["token"]

    def token(self) -> str:
        if self._token is None:
            self._token = self.login()
        return self._token

    def forget_token(self) -> None:
        self._token = None

    # ------------------------------------------------------------------ API helpers

    def upload_chart(self, path: str | os.PathLike[str], token: str | None = None) -> tuple[int, Any]:
        boundary = uuid.uuid4().hex
        content = Path(path).read_bytes()
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{Path(path).name}"\r\n'
                "Content-Type: application/gzip\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return self.api("POST", "/v1/chart", body, token, {"Content-Type": f"multipart/form-data; boundary={boundary}"})

    @staticmethod
    def cluster_args(cluster_yaml: str, cover: bool = False, keep_upgrade_job: bool = False, **override: Any) -> dict:
        """The POST/PUT /v1/cluster body for a cluster.yaml text (name etc. taken from the YAML)."""
        import yaml  # noqa: PLC0415 - only this helper needs PyYAML

        spec = yaml.safe_load(cluster_yaml) or {}
        body = {
            "name": spec.get("name", ""),
            "namespace": spec.get("namespace", ""),
            "chart_name": spec.get("chartName", ""),
            "chart_version": spec.get("chartVersion", ""),
            "cover": cover,
            "data": base64.b64encode(cluster_yaml.encode()).decode(),
            "Keep_upgrade_job": keep_upgrade_job,
        }
        body.update(override)
        return body

    def install(self, cluster_yaml: str, cover: bool = False, **override: Any) -> tuple[int, Any]:
        return self.api("POST", "/v1/cluster", self.cluster_args(cluster_yaml, cover=cover, **override))

    def update(self, cluster_yaml: str, keep_upgrade_job: bool = False, **override: Any) -> tuple[int, Any]:
        args = self.cluster_args(cluster_yaml, keep_upgrade_job=keep_upgrade_job, **override)
        return self.api("PUT", "/v1/cluster", args)

    def job(self, job_id: str) -> dict:
        status, body = self.api("GET", f"/v1/job/{job_id}")
        if status == 401:
            self.forget_token()
            status, body = self.api("GET", f"/v1/job/{job_id}")
        if status != 200:
            raise EmulatorError(f"GET job {job_id}: {status} {body}")
        return body["data"]

    def wait_job(self, job_id: str, timeout: float = 30.0, until: tuple[str, ...] = TERMINAL_JOB_STATUSES) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["status"] in until:
                return job
            if time.monotonic() > deadline:
                raise EmulatorError(f"job {job_id} still {job['status']} after {timeout} s: {job['states']}")
            time.sleep(0.1)

    def wait_cluster_id(self, job_id: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["cluster_id"]:
                return job["cluster_id"]
            if time.monotonic() > deadline:
                raise EmulatorError(f"job {job_id} has no cluster_id after {timeout} s")
            time.sleep(0.05)

    # ------------------------------------------------------------------ control API

    def _control(self, method: str, path: str, body: Any = None) -> Any:
        status, _h, raw = self.request(method, "/_emulator" + path, body)
        if status >= 400:
            raise EmulatorError(f"{method} /_emulator{path}: {status} {raw[:500]!r}")
        return _parse(raw)

    def requests(self, method: str | None = None, path_prefix: str | None = None, since: int = 0) -> list[dict]:
        query = {"since": since}
        if method:
            query["method"] = method
        if path_prefix:
            query["path_prefix"] = path_prefix
        return self._control("GET", "/requests?" + urllib.parse.urlencode(query))

    def clear_requests(self) -> None:
        self._control("DELETE", "/requests")

    def writes(self) -> list[dict]:
        """Recorded POST/PUT/DELETE requests on /v1, except login and logout."""
        return [
            r
            for r in self.requests(path_prefix="/v1")
            if r["method"] in ("POST", "PUT", "DELETE") and r["path"] not in ("/v1/user/login", "/v1/user/logout")
        ]

    def faults(self, **changes: Any) -> dict:
        """Read (no arguments) or change run-time options; returns all options."""
        if not changes:
            return self._control("GET", "/faults")
        return self._control("POST", "/faults", changes)

    def restart(self, ephemeral_db: bool | None = None) -> dict:
        """Emulate a kubefate pod restart; ``ephemeral_db=None`` uses the emulator's ``--ephemeral-db``."""
        self.forget_token()
        return self._control("POST", "/restart", {} if ephemeral_db is None else {"ephemeral_db": ephemeral_db})

    def state(self) -> dict:
        return self._control("GET", "/state")

    def create_namespace(self, name: str) -> dict:
        return self._control("POST", "/namespaces", {"name": name})

    def inject_release(self, name: str, namespace: str, **extra: Any) -> dict:
        return self._control("POST", "/releases", {"name": name, "namespace": namespace, **extra})

    # ------------------------------------------------------------------ process

    def stderr_tail(self, lines: int = 40) -> str:
        if self.stderr_path is None or not self.stderr_path.exists():
            return ""
        return "\n".join(self.stderr_path.read_text(errors="replace").splitlines()[-lines:])


def _parse(raw: bytes) -> Any:
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


@contextlib.contextmanager
def run_emulator(
    *args: str,
    python: str | None = None,
    ready_timeout: float = 30.0,
    host: str = "127.0.0.1",
    port: int | None = None,
    **kwargs: Any,
) -> Iterator[Emulator]:
    """Start ``scripts/kubefate-emulator`` on a free port, wait for ``GET /``, yield an Emulator, stop it.

    ``python`` defaults to ``$KUBEFATE_EMULATOR_PYTHON`` or the running interpreter. The wait covers
    ``start_delay``. On an exception the tail of the emulator's stderr is printed.
    """
    port = port or free_port(host)
    python = python or os.environ.get("KUBEFATE_EMULATOR_PYTHON") or sys.executable
    argv = [python, str(SCRIPT), "--host", host, "--port", str(port), *cli_args(*args, **kwargs)]
    emu = Emulator(host, port, kwargs.get("username", "admin"), kwargs.get("password", "admin"))
    with tempfile.NamedTemporaryFile(prefix="kubefate-emulator-", suffix=".log", delete=False) as log:
        emu.stderr_path = Path(log.name)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(emu.stderr_path, "wb") as stderr:
        process = subprocess.Popen(argv, stdout=stderr, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    emu.process = process
    failed = True
    try:
        deadline = time.monotonic() + ready_timeout + float(kwargs.get("start_delay") or 0)
        while True:
            if process.poll() is not None:
                raise EmulatorError(f"emulator exited with {process.returncode}:\n{emu.stderr_tail()}")
            try:
                status, _h, _b = emu.request("GET", "/", timeout=2)
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise EmulatorError(f"emulator not ready after {ready_timeout} s:\n{emu.stderr_tail()}")
            time.sleep(0.05)
        yield emu
        failed = False
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if failed:
            sys.stderr.write(f"--- kubefate-emulator stderr (tail) ---\n{emu.stderr_tail()}\n")
        with contextlib.suppress(OSError):
            emu.stderr_path.unlink()
