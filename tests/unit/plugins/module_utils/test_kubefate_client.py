"""The KubeFATE client against a scripted HTTP server: paths, auth renewal, retries and error texts."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ansible_collections.fateops.kubefate.plugins.module_utils.kubefate import (
    KubefateClient,
    KubefateError,
    encode_cluster_yaml,
    is_not_found,
)


class Script:
    """Answers requests from a list of (status, body, content type) per path; records every request."""

    def __init__(self):
        self.routes = {}
        self.seen = []
        self.tokens = iter(f"token-{i}" for i in range(100))

    def add(self, method, path, *answers):
        self.routes.setdefault((method, path), []).extend(answers)


@pytest.fixture
def server():
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            script.seen.append((self.command, self.path, dict(self.headers), body))
            path = self.path.split("?", maxsplit=1)[0]
            if self.command == "POST" and path == "/v1/user/login" and (self.command, path) not in script.routes:
                answer = (200, {"code": 200, "token": next(script.tokens), "expire": "x"})
            else:
                answers = script.routes.get((self.command, path)) or [(404, "404 page not found")]
                answer = answers.pop(0) if len(answers) > 1 else answers[0]
            status, payload = answer[0], answer[1]
            text = payload if isinstance(payload, str) else json.dumps(payload)
            self.send_response(status)
            ctype = "application/json" if not isinstance(payload, str) else "text/plain"
            if status in (301, 307):
                self.send_header("Location", path + "/")
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(text.encode())))
            self.end_headers()
            self.wfile.write(text.encode())

        do_GET = do_POST = do_PUT = do_DELETE = handle_any

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    script.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield script
    httpd.shutdown()


def client_for(script, **kwargs):
    kwargs.setdefault("retry_timeout", 5)
    sleeps = []
    client = KubefateClient(script.url, "admin", "s3cret", sleep=sleeps.append, **kwargs)
    client.sleeps = sleeps
    return client


def test_logs_in_lazily_and_sends_bearer_token(server):
    server.add("GET", "/v1/version/", (200, {"msg": "getVersion Success", "version": "v1.4.5"}))
    client = client_for(server)
    assert server.seen == []
    assert client.version() == "v1.4.5"
    login, version = server.seen
    assert login[0:2] == ("POST", "/v1/user/login")
    assert json.loads(login[3]) == {"username": "admin", "password": "s3cret"}
    assert version[2]["Authorization"] == "Bearer token-0"


def test_relogs_in_once_on_401_then_succeeds(server):
    server.add(
        "GET",
        "/v1/cluster/",
        (401, {"code": 401, "message": "Token is expired"}),
        (200, {"msg": "getClusterList Success", "data": [{"name": "a"}]}),
    )
    client = client_for(server)
    assert client.list_clusters() == [{"name": "a"}]
    paths = [(seen[0], seen[1]) for seen in server.seen]
    assert paths == [
        ("POST", "/v1/user/login"),
        ("GET", "/v1/cluster/"),
        ("POST", "/v1/user/login"),
        ("GET", "/v1/cluster/"),
    ]
    assert server.seen[-1][2]["Authorization"] == "Bearer token-1"


def test_wrong_password_is_one_clear_line(server):
    server.add("POST", "/v1/user/login", (401, {"code": 401, "message": "incorrect Username or Password"}))
    client = client_for(server)
    with pytest.raises(KubefateError) as err:
        client.list_jobs()
    assert str(err.value) == "login as 'admin' failed: HTTP 401: incorrect Username or Password"
    assert err.value.status == 401


@pytest.mark.parametrize("code", [502, 503, 504])
def test_retries_transient_gateway_errors(server, code):
    server.add("GET", "/v1/job/", (code, "<html>bad gateway</html>"), (200, {"data": [], "msg": "getJobList Success"}))
    client = client_for(server)
    assert client.list_jobs() == []
    assert len(client.sleeps) == 1
    assert [call[2] for call in client.calls if call[1] == "/v1/job/"] == [code, 200]


def test_retries_stop_at_the_retry_timeout():
    now = [0.0]
    client = KubefateClient(
        "http://127.0.0.1:9",
        "admin",
        "x",
        retry_timeout=10,
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
    )
    with pytest.raises(KubefateError) as err:
        client.login()
    assert "cannot reach KubeFATE at http://127.0.0.1:9" in str(err.value)
    assert 5 <= now[0] <= 10.5  # backed off 1, 2, 4 ... and gave up before the deadline
    assert len(client.calls) >= 3


def test_redirect_is_not_followed_and_named(server):
    server.add("POST", "/v1/cluster", (307, ""))
    client = client_for(server)
    with pytest.raises(KubefateError) as err:
        client.install_cluster({"name": "fate-9999"})
    assert "redirected POST /v1/cluster (HTTP 307)" in str(err.value)
    assert [seen[1] for seen in server.seen if seen[0] == "POST"] == ["/v1/user/login", "/v1/cluster"]


def test_business_error_carries_server_text(server):
    server.add("DELETE", "/v1/cluster/abc", (500, {"error": "record not found"}))
    client = client_for(server)
    with pytest.raises(KubefateError) as err:
        client.delete_cluster("abc", "fate-9999")
    assert str(err.value) == "delete cluster fate-9999 failed: HTTP 500: record not found"
    assert is_not_found(err.value)


def test_html_from_an_ingress_is_explained(server):
    server.add("GET", "/v1/version/", (404, "<html><body>404 Not Found nginx</body></html>"))
    client = client_for(server)
    with pytest.raises(KubefateError) as err:
        client.version()
    assert "not KubeFATE" in str(err.value) and "host_header" in str(err.value)


def test_host_header_override_is_sent(server):
    server.add("GET", "/v1/version/", (200, {"version": "v1.4.5"}))
    client = client_for(server, host_header="kubefate.example.com")
    client.version()
    assert all(seen[2]["Host"] == "kubefate.example.com" for seen in server.seen)


def test_exact_paths_for_every_call(server):
    client = client_for(server)
    calls = [
        (client.list_clusters, (), ("GET", "/v1/cluster/")),
        (client.list_jobs, (), ("GET", "/v1/job/")),
        (client.list_charts, (), ("GET", "/v1/chart/")),
        (client.namespaces, (), ("GET", "/v1/namespace/")),
        (client.update_cluster, ({"name": "x"},), ("PUT", "/v1/cluster")),
        (client.stop_job, ("j1",), ("PUT", "/v1/job/j1?jobStatus=stop")),
    ]
    for func, args, (method, path) in calls:
        server.add(method, path.split("?", maxsplit=1)[0], (200, {"data": []}))
        func(*args)
        assert (server.seen[-1][0], server.seen[-1][1]) == (method, path)


def test_data_is_base64_of_the_json_form():
    import base64

    spec = {"name": "fate-9999", "partyId": 9999, "modules": ["osx"]}
    assert json.loads(base64.b64decode(encode_cluster_yaml(spec))) == spec


def test_url_must_be_http_or_https():
    with pytest.raises(KubefateError, match="url must be http"):
        KubefateClient("kubefate.example.com:8080", "admin", "x")
