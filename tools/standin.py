"""What the test helpers of both local stand-ins share (standard library only).

A stand-in is a server script run as a subprocess on a free port, with a control API that records every
request. ``StandIn`` holds the HTTP and control plumbing, ``launch`` starts the process, waits until it is
ready, yields, and stops it (printing the end of its log when the block failed).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


class StandInError(RuntimeError):
    pass


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def cli_args(joined: set[str], *args: str, **kwargs: Any) -> list[str]:
    """Keyword arguments as options: ``job_seconds=1`` → ``--job-seconds 1``, ``True`` → a bare flag,
    ``False``/``None`` → omitted, a list → the option repeated (or joined with commas for ``joined`` keys)."""
    out = [str(a) for a in args]
    for key, value in kwargs.items():
        flag = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            out.append(flag)
        elif isinstance(value, (list, tuple)):
            if key in joined:
                out += [flag, ",".join(str(v) for v in value)]
            else:
                for item in value:
                    out += [flag, str(item)]
        else:
            out += [flag, str(value)]
    return out


def parse_body(raw: bytes) -> Any:
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


class StandIn:
    """A running stand-in: its URL, raw HTTP, and the recorded-requests routes under ``control_prefix``."""

    control_prefix = ""
    error: type[StandInError] = StandInError

    def __init__(self, url: str) -> None:
        self.url = url
        self.opener = _OPENER
        self.process: subprocess.Popen | None = None
        self.log_path: Path | None = None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> tuple[int, dict[str, str], bytes]:
        """One HTTP request, no redirects followed. ``body``: dict/list → JSON, str/bytes → as is.
        Returns (status, headers, raw body)."""
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
            with self.opener.open(req, timeout=timeout) as resp:
                return resp.status, dict(resp.headers.items()), resp.read()
        except urllib.error.HTTPError as exc:
            with contextlib.closing(exc):
                return exc.code, dict(exc.headers.items()), exc.read()

    def _control(self, method: str, path: str, body: Any = None) -> Any:
        status, _headers, raw = self.request(method, self.control_prefix + path, body)
        if status >= 400:
            raise self.error(f"{method} {self.control_prefix}{path}: {status} {raw[:500]!r}")
        return parse_body(raw)

    def requests(self, method: str | None = None, path_prefix: str | None = None, since: int = 0) -> list[dict]:
        """Recorded requests (seq, method, path, query, body, status...), optionally filtered."""
        query: dict[str, Any] = {"since": since}
        if method:
            query["method"] = method
        if path_prefix:
            query["path_prefix"] = path_prefix
        return self._control("GET", "/requests?" + urllib.parse.urlencode(query))

    def clear_requests(self) -> None:
        self._control("DELETE", "/requests")

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def launch(
    standin: StandIn,
    argv: list[str],
    ready: Callable[[], bool],
    ready_timeout: float,
    workdir: Path | None = None,
) -> Iterator[StandIn]:
    """Run ``argv`` with its output in a log, poll ``ready()`` until true, yield ``standin``, stop the process.

    ``workdir`` (removed afterwards) holds the log; without it a temporary one is made.
    """
    name = Path(argv[1]).name
    workdir = workdir or Path(tempfile.mkdtemp(prefix=f"{name}-"))
    standin.log_path = workdir / "server.log"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(standin.log_path, "wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    standin.process = process
    failed = True
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if process.poll() is not None:
                raise standin.error(f"{name} exited with {process.returncode}:\n{standin.log_tail()}")
            with contextlib.suppress(OSError):
                if ready():
                    break
            if time.monotonic() > deadline:
                raise standin.error(f"{name} not ready after {ready_timeout} s:\n{standin.log_tail()}")
            time.sleep(0.05)
        yield standin
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
            sys.stderr.write(f"--- {name} log (tail) ---\n{standin.log_tail()}\n")
        shutil.rmtree(workdir, ignore_errors=True)
