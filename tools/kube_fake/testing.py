"""Run the fake Kubernetes API server as a subprocess from tests (standard library only).

    from kube_fake.testing import run_kube_fake

    with run_kube_fake(lb_ip="10.0.0.50", unready=["Deployment/app/slow"]) as kube:
        run_playbook(..., env={"K8S_AUTH_KUBECONFIG": kube.kubeconfig})
        assert kube.get("Deployment", "web", "app")["spec"]["replicas"] == 2
        assert [w["method"] for w in kube.writes()] == ["POST", "POST"]

Keyword arguments become command-line options (``lb_ip="1.2.3.4"`` → ``--lb-ip 1.2.3.4``; ``True`` → a bare
flag; ``False``/``None`` → omitted; a list → the option repeated, except ``namespace_only`` and ``node_ip``,
which are joined with commas). Positional arguments are passed through verbatim.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "kube-fake"
_JOINED = {"namespace_only", "node_ip", "lb_ip"}
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class KubeFakeError(RuntimeError):
    pass


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


def _parse(raw: bytes) -> Any:
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


class KubeFake:
    """A running fake: its URL, kubeconfig path and helpers for the API and the control routes."""

    def __init__(self, url: str, kubeconfig: str, token: str = "fake-token"):
        self.url = url
        self.kubeconfig = kubeconfig
        self.token = token
        self.process: subprocess.Popen | None = None
        self.log_path: Path | None = None

    # ------------------------------------------------------------------ raw HTTP

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> tuple[int, dict[str, str], bytes]:
        """One HTTP request. ``body``: dict/list → JSON, str/bytes → as is. Returns (status, headers, raw body)."""
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
            with urllib.request.urlopen(req, timeout=timeout) as resp:
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
        content_type: str | None = None,
    ) -> tuple[int, Any]:
        """Call the Kubernetes API with the token (``token=""`` sends none). Returns (status, parsed body)."""
        headers = {}
        token = self.token if token is None else token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if content_type:
            headers["Content-Type"] = content_type
        status, _headers, raw = self.request(method, path, body, headers)
        return status, _parse(raw)

    # ------------------------------------------------------------------ control API

    def _control(self, method: str, path: str, body: Any = None) -> Any:
        status, _h, raw = self.request(method, "/_fake" + path, body)
        if status >= 400:
            raise KubeFakeError(f"{method} /_fake{path}: {status} {raw[:500]!r}")
        return _parse(raw)

    def info(self) -> dict:
        """The fake's state summary: url, rv, namespace_only, unready, validation (schemas available)."""
        return self._control("GET", "/health")

    def requests(self, method: str | None = None, path_prefix: str | None = None, since: int = 0) -> list[dict]:
        """Recorded API requests: seq, method, path, query, content_type, body, status, dry_run, user_agent."""
        query: dict[str, Any] = {"since": since}
        if method:
            query["method"] = method
        if path_prefix:
            query["path_prefix"] = path_prefix
        return self._control("GET", "/requests?" + urllib.parse.urlencode(query))

    def clear_requests(self) -> None:
        self._control("DELETE", "/requests")

    def writes(self, include_dry_run: bool = True) -> list[dict]:
        """Recorded POST/PUT/PATCH/DELETE requests (``include_dry_run=False`` drops ``dryRun=All`` ones)."""
        return [
            r for r in self.requests() if r["method"] in WRITE_METHODS and (include_dry_run or not r.get("dry_run"))
        ]

    def objects(
        self, kind: str | None = None, namespace: str | None = None, api_version: str | None = None
    ) -> list[dict]:
        """Every stored object (with kind and apiVersion), optionally only one kind and/or namespace."""
        query = {
            k: v for k, v in (("kind", kind), ("namespace", namespace), ("apiVersion", api_version)) if v is not None
        }
        return self._control("GET", "/objects" + ("?" + urllib.parse.urlencode(query) if query else ""))

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict | None:
        """One stored object by kind and name (None when absent)."""
        query = {"kind": kind, "name": name}
        if namespace is not None:
            query["namespace"] = namespace
        found = self._control("GET", "/objects?" + urllib.parse.urlencode(query))
        return found[0] if found else None

    def names(self, kind: str, namespace: str | None = None) -> list[str]:
        return sorted(o["metadata"]["name"] for o in self.objects(kind, namespace))

    def create(self, *objects: dict) -> list[dict]:
        """Store objects directly (no auth, same validation as the API), e.g. to seed a namespace-only fake."""
        return self._control("POST", "/objects", list(objects))

    def reset(self) -> None:
        """Back to the initial cluster; also forgets recorded requests."""
        self._control("POST", "/reset")

    def set_unready(self, *patterns: str) -> list[str]:
        """Replace the ``--unready`` patterns (KIND/NS/NAME globs) at run time."""
        return self._control("POST", "/unready", {"unready": list(patterns)})["unready"]

    def field_managers(self, kind: str, name: str, namespace: str | None = None) -> dict:
        """Server-side-apply bookkeeping of one object: manager -> {operation, fields}."""
        query = {"kind": kind, "name": name}
        if namespace:
            query["namespace"] = namespace
        return self._control("GET", "/fields?" + urllib.parse.urlencode(query))

    # ------------------------------------------------------------------ process

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def run_kube_fake(
    *args: str,
    python: str | None = None,
    ready_timeout: float = 20.0,
    host: str = "127.0.0.1",
    port: int | None = None,
    **kwargs: Any,
) -> Iterator[KubeFake]:
    """Start ``scripts/kube-fake`` on a free port with a kubeconfig in a temporary directory, wait until it
    answers, yield a :class:`KubeFake`, stop it. ``python`` defaults to ``$KUBE_FAKE_PYTHON`` or the running
    interpreter. On an exception the tail of the server's log is printed.
    """
    workdir = Path(tempfile.mkdtemp(prefix="kube-fake-"))
    kubeconfig = workdir / "kubeconfig"
    kwargs.setdefault("quiet", True)
    kwargs["kubeconfig_out"] = str(kubeconfig)
    port = port if port is not None else free_port(host)
    python = python or os.environ.get("KUBE_FAKE_PYTHON") or sys.executable
    argv = [python, str(SCRIPT), "--host", host, "--port", str(port), *cli_args(*args, **kwargs)]
    log_path = workdir / "server.log"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    kube = KubeFake(f"http://{host}:{port}", str(kubeconfig), kwargs.get("token") or "fake-token")
    kube.process = process
    kube.log_path = log_path
    failed = True
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if process.poll() is not None:
                raise KubeFakeError(f"kube-fake exited with {process.returncode}:\n{kube.log_tail()}")
            if kubeconfig.exists():
                match = re.search(r"server: (\S+)", kubeconfig.read_text())
                if match:
                    kube.url = match.group(1)
                try:
                    status, _h, _b = kube.request("GET", "/_fake/health", timeout=2)
                    if status == 200:
                        break
                except OSError:
                    pass
            if time.monotonic() > deadline:
                raise KubeFakeError(f"kube-fake not ready after {ready_timeout} s:\n{kube.log_tail()}")
            time.sleep(0.05)
        yield kube
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
            sys.stderr.write(f"--- kube-fake log (tail) ---\n{kube.log_tail()}\n")
        shutil.rmtree(workdir, ignore_errors=True)
