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
import os
import re
import sys
import tempfile
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from standin import StandIn, StandInError, cli_args, free_port, launch, parse_body

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "kube-fake"
_JOINED = {"namespace_only", "node_ip", "lb_ip"}
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
__all__ = ["KubeFake", "KubeFakeError", "free_port", "run_kube_fake"]


class KubeFakeError(StandInError):
    pass


class KubeFake(StandIn):
    """A running fake: its URL, kubeconfig path and helpers for the API and the control routes."""

    control_prefix = "/_fake"
    error = KubeFakeError

    def __init__(self, url: str, kubeconfig: str, token: str = "fake-token"):
        super().__init__(url)
        self.kubeconfig = kubeconfig
        self.token = token

    # ------------------------------------------------------------------ Kubernetes API

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
        return status, parse_body(raw)

    # ------------------------------------------------------------------ control API

    def info(self) -> dict:
        """The fake's state summary: url, rv, namespace_only, unready, validation (schemas available)."""
        return self._control("GET", "/health")

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
    argv = [python, str(SCRIPT), "--host", host, "--port", str(port), *cli_args(_JOINED, *args, **kwargs)]
    kube = KubeFake(f"http://{host}:{port}", str(kubeconfig), kwargs.get("token") or "fake-token")

    def ready() -> bool:
        if not kubeconfig.exists():
            return False
        match = re.search(r"server: (\S+)", kubeconfig.read_text())
        if match:
            kube.url = match.group(1)
        return kube.request("GET", "/_fake/health", timeout=2)[0] == 200

    with launch(kube, argv, ready, ready_timeout, workdir):
        yield kube
