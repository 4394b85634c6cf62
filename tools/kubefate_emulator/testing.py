"""Run the KubeFATE emulator as a subprocess from tests (standard library only).

    from kubefate_emulator.testing import run_emulator

    with run_emulator(job_seconds=1, time_limit=5, fail_module=["python"]) as emu:
        status, body = emu.api("GET", "/v1/job/")
        emu.faults(stuck=True)
        assert emu.writes() == []

Keyword arguments become command-line options (``job_seconds=1`` → ``--job-seconds 1``; ``True`` → a
bare flag; ``False``/``None`` → omitted; a list → the option repeated, except ``http_error_codes``
which is joined with commas). Positional arguments are passed through verbatim. With ``tls_cert`` the
emulator serves HTTPS and ``.url`` is ``https://…``; the helper itself does not verify that certificate.
"""

from __future__ import annotations

import base64
import contextlib
import os
import ssl
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from standin import StandIn, StandInError, _NoRedirect, cli_args, free_port, launch, parse_body

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "kubefate-emulator"
TERMINAL_JOB_STATUSES = ("Success", "Failed", "Rollback", "Canceled", "Timeout")
_JOINED = {"http_error_codes"}
__all__ = ["Emulator", "EmulatorError", "free_port", "run_emulator"]


class EmulatorError(StandInError):
    pass


class Emulator(StandIn):
    """A running emulator: its URL and helpers for the API and the control routes."""

    control_prefix = "/_emulator"
    error = EmulatorError

    def __init__(
        self, host: str, port: int, username: str = "admin", password: str = "admin", scheme: str = "http"
    ) -> None:
        super().__init__(f"{scheme}://{host}:{port}")
        if scheme == "https":  # the test's own client: the certificate under test is the module's business
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            self.opener = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPSHandler(context=context))
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self._token: str | None = None

    # ------------------------------------------------------------------ KubeFATE API

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
        return status, parse_body(raw)

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
    ``start_delay``. On an exception the tail of the emulator's log is printed.
    """
    port = port or free_port(host)
    python = python or os.environ.get("KUBEFATE_EMULATOR_PYTHON") or sys.executable
    argv = [python, str(SCRIPT), "--host", host, "--port", str(port), *cli_args(_JOINED, *args, **kwargs)]
    scheme = "https" if kwargs.get("tls_cert") else "http"
    emu = Emulator(host, port, kwargs.get("username", "admin"), kwargs.get("password", "admin"), scheme)

    def ready() -> bool:
        return emu.request("GET", "/", timeout=2)[0] == 200

    with launch(emu, argv, ready, ready_timeout + float(kwargs.get("start_delay") or 0)):
        yield emu
