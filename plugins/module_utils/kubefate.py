# Copyright: fateops.kubefate contributors
# SPDX-License-Identifier: Apache-2.0 OR GPL-3.0-or-later
# Apache License 2.0 (see LICENSE), or at your option the GNU General Public License v3.0+ (see COPYING)
"""The KubeFATE REST API client shared by every module of the collection.

It speaks to the KubeFATE server (``k8s-deploy``) as the server really behaves, not as its swagger says:
``data`` is base64, list routes end with a slash and create/update routes do not (any other form is a
redirect, which is treated as a client bug), business errors are HTTP 500 with an ``error`` text, tokens
expire or die with the server and are renewed on any 401, and transient faults (connection refused while
KubeFATE starts, 502/503/504 from the ingress) are retried with backoff for a bounded time. A TLS
certificate that cannot be verified is not transient: it fails at once, saying what to set.
"""

import base64
import json
import os
import random
import socket
import ssl
import time
import urllib.error
from urllib.parse import urlencode, urlsplit

from ansible.module_utils.urls import ConnectionError as UrlConnectionError
from ansible.module_utils.urls import Request, prepare_multipart

ENV_PREFIX = "KUBEFATE_"
RETRY_STATUSES = (502, 503, 504)
TERMINAL_JOB_STATUSES = ("Success", "Failed", "Rollback", "Canceled", "Timeout")
ACTIVE_JOB_STATUSES = ("Pending", "Running", "Stopping")
ZERO_TIME = "0001-01-01T00:00:00Z"


class KubefateError(Exception):
    """An API call that failed; ``status`` is the HTTP code (None for transport errors).

    ``retryable`` is False for failures that waiting cannot cure (a certificate that is not trusted).
    """

    def __init__(self, message, status=None, body=None, retryable=True):
        super().__init__(message)
        self.status = status
        self.body = body
        self.retryable = retryable

    @property
    def server_text(self):
        """The server's own error text (``error`` or ``message`` key), or the raw body."""
        if isinstance(self.body, dict):
            return str(self.body.get("error") or self.body.get("message") or self.body.get("msg") or "")
        return str(self.body or "")


def is_not_found(error):
    """KubeFATE reports missing records as HTTP 500 "record not found" (or 400 for logs)."""
    text = error.server_text
    return "record not found" in text or "is not existed" in text


def encode_cluster_yaml(spec):
    """The ``data`` field of POST/PUT /v1/cluster: base64 of the JSON form of the cluster.yaml, as the CLI sends."""
    return base64.b64encode(json.dumps(spec, sort_keys=True).encode()).decode()


class KubefateClient:
    """A logged-in session with one KubeFATE server.

    ``clock`` and ``sleep`` are injectable so that tests can run the retry and wait loops without waiting.
    """

    def __init__(
        self,
        url,
        username,
        password,
        host_header=None,
        validate_certs=True,
        ca_path=None,
        timeout=30,
        retry_timeout=60,
        clock=time.monotonic,
        sleep=time.sleep,
    ):
        parts = urlsplit(url or "")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise KubefateError(f"url must be http(s)://host[:port], got {url!r}")
        self.url = url.rstrip("/")
        self.username = username
        self.password = password
        self.host_header = host_header
        self.timeout = timeout
        self.retry_timeout = retry_timeout
        self.clock = clock
        self.sleep = sleep
        self.token = None
        self.calls = []  # (method, path, status) of every request, for callers that report API usage
        self._request = Request(
            validate_certs=validate_certs,
            ca_path=ca_path,
            timeout=timeout,
            follow_redirects="none",
            http_agent="fateops.kubefate",
        )

    # ------------------------------------------------------------------ transport
    def _send(self, method, path, body=None, query=None, headers=None, raw_body=None):
        """One HTTP exchange, retried on transport errors and 502/503/504; returns (status, parsed body)."""
        url = self.url + path
        if query:
            url += "?" + urlencode(query)
        all_headers = {"Accept": "application/json"}
        if self.host_header:
            all_headers["Host"] = self.host_header
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        deadline = self.clock() + self.retry_timeout
        delay = 1.0
        while True:
            status, text, transient = self._exchange(method, url, data, all_headers)
            self.calls.append((method, path, status))
            if not transient or self.clock() + delay > deadline:
                break
            self.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, 10.0)
        if status is None:
            if not transient:
                raise KubefateError(text, retryable=False)
            raise KubefateError(f"cannot reach KubeFATE at {self.url}: {text}")
        return status, _parse(text)

    def _exchange(self, method, url, data, headers):
        """Returns (status or None, text, transient?)."""
        try:
            response = self._request.open(method, url, data=data, headers=headers)
            return response.status, response.read().decode("utf-8", "replace"), False
        except urllib.error.HTTPError as exc:
            try:
                text = exc.read().decode("utf-8", "replace")
            except Exception:  # the body of an error is best effort
                text = ""
            return exc.code, text, exc.code in RETRY_STATUSES
        except (urllib.error.URLError, UrlConnectionError, socket.timeout, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, ssl.SSLCertVerificationError):
                return None, self._certificate_message(reason), False
            return None, str(reason), True

    def _certificate_message(self, error):
        """Why the server's TLS certificate was refused, and what to set: one line."""
        why = (getattr(error, "verify_message", None) or str(error)).rstrip(".")
        if "mismatch" in why.lower():
            hint = "use a url whose host name or IP address the certificate lists"
        else:
            hint = (
                "set ca_path to the CA certificate (PEM) that signed it, "
                "or validate_certs: false for a throw-away test server only"
            )
        return f"TLS certificate of KubeFATE at {self.url} is not trusted ({why}): {hint}"

    def call(self, method, path, body=None, query=None, what=None, raw_body=None, headers=None):
        """An authenticated call; logs in lazily and once more on 401. Returns the parsed body of a 200."""
        if self.token is None:
            self.login()
        for attempt in (1, 2):
            auth = {"Authorization": f"Bearer {self.token}"}
            auth.update(headers or {})
            status, parsed = self._send(method, path, body=body, query=query, headers=auth, raw_body=raw_body)
            if status == 401 and attempt == 1:
                self.login()
                continue
            break
        if status == 200:
            return parsed
        raise KubefateError(_error_message(method, path, status, parsed, what), status=status, body=parsed)

    def login(self):
        status, parsed = self._send(
            "POST", "/v1/user/login", body={"username": self.username, "password": self.password}
        )
        if status != 200 or not isinstance(parsed, dict) or not parsed.get("token"):
            raise KubefateError(
                _error_message("POST", "/v1/user/login", status, parsed, f"login as {self.username!r}"),
                status=status,
                body=parsed,
            )
        self.token = parsed["token"]
        return self.token

    # ------------------------------------------------------------------ API
    def alive(self):
        """``GET /`` (no auth): True when the server answers its liveness route."""
        status, parsed = self._send("GET", "/")
        return status == 200 and isinstance(parsed, dict) and "msg" in parsed

    def version(self):
        return self.call("GET", "/v1/version/", what="version").get("version")

    def list_clusters(self, all_rows=False):
        query = {"all": "true"} if all_rows else None
        return self.call("GET", "/v1/cluster/", query=query, what="list clusters").get("data") or []

    def get_cluster(self, uuid):
        return self.call("GET", f"/v1/cluster/{uuid}", what=f"cluster {uuid}").get("data")

    def find_cluster(self, name, namespace, clusters=None):
        """The live (not deleted) cluster with this name in this namespace, or None."""
        for cluster in self.list_clusters() if clusters is None else clusters:
            if cluster.get("name") == name and cluster.get("namespaces") == namespace:
                return cluster
        return None

    def install_cluster(self, args):
        return self.call("POST", "/v1/cluster", body=args, what=f"install cluster {args.get('name')}").get("data")

    def update_cluster(self, args):
        return self.call("PUT", "/v1/cluster", body=args, what=f"update cluster {args.get('name')}").get("data")

    def delete_cluster(self, uuid, name=None):
        return self.call("DELETE", f"/v1/cluster/{uuid}", what=f"delete cluster {name or uuid}").get("data")

    def list_jobs(self):
        return self.call("GET", "/v1/job/", what="list jobs").get("data") or []

    def get_job(self, uuid):
        return self.call("GET", f"/v1/job/{uuid}", what=f"job {uuid}").get("data")

    def stop_job(self, uuid):
        return self.call("PUT", f"/v1/job/{uuid}", query={"jobStatus": "stop"}, what=f"stop job {uuid}")

    def delete_job(self, uuid):
        return self.call("DELETE", f"/v1/job/{uuid}", what=f"delete job {uuid}")

    def list_charts(self):
        return self.call("GET", "/v1/chart/", what="list charts").get("data") or []

    def get_chart(self, uuid):
        return self.call("GET", f"/v1/chart/{uuid}", what=f"chart {uuid}").get("data")

    def upload_chart(self, path):
        content_type, body = prepare_multipart(
            {"file": {"filename": path, "mime_type": "application/gzip"}},
        )
        headers = {"Content-Type": content_type}
        name = os.path.basename(path)
        result = self.call("POST", "/v1/chart", raw_body=body, headers=headers, what=f"upload chart {name}")
        return (result.get("data") or {}).get("helmUUID")

    def delete_chart(self, uuid):
        return self.call("DELETE", f"/v1/chart/{uuid}", what=f"delete chart {uuid}")

    def cluster_logs(self, uuid, query=None):
        return self.call("GET", f"/v1/log/{uuid}", query=query, what=f"logs of cluster {uuid}").get("data") or ""

    def namespaces(self):
        return self.call("GET", "/v1/namespace/", what="list namespaces").get("data") or []


def _parse(text):
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _error_message(method, path, status, parsed, what):
    """One line an operator can act on: what was attempted, the HTTP status and the server's own words."""
    subject = what or f"{method} {path}"
    if status is None:
        return f"{subject}: no answer from KubeFATE"
    if status in (301, 302, 307, 308):
        return f"{subject}: KubeFATE redirected {method} {path} (HTTP {status}); the request path is wrong"
    if isinstance(parsed, dict):
        text = parsed.get("error") or parsed.get("message") or parsed.get("msg") or json.dumps(parsed)
        return f"{subject} failed: HTTP {status}: {text}"
    snippet = " ".join(str(parsed or "").split())[:160]
    if status == 401:
        return f"{subject} failed: HTTP 401: {snippet or 'unauthorized'}"
    if status == 404 and not snippet.startswith("404 page not found"):
        return (
            f"{subject} failed: HTTP 404 from something that is not KubeFATE ({snippet!r}); "
            "check the url and, behind an ingress, the host_header"
        )
    if "<html" in snippet.lower():
        return (
            f"{subject} failed: HTTP {status} with an HTML page instead of KubeFATE JSON ({snippet!r}); "
            "a proxy or ingress answered: check the url, host_header and that the kubefate pod is ready"
        )
    return f"{subject} failed: HTTP {status}: {snippet or '(empty body)'}"
