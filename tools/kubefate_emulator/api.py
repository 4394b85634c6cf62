"""The ``/v1`` REST API of the KubeFATE server (``k8s-deploy/pkg/api``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from urllib.parse import parse_qs

from . import auth, charts, goish, jobs
from .httpx import (
    JSON_TYPE,
    MultipartError,
    Request,
    Response,
    Router,
    error,
    json_response,
    not_found,
    parse_multipart,
)
from .state import (
    JOB_RUNNING,
    JOB_STOPPING,
    ClusterArgs,
    HelmError,
    State,
    User,
    new_uuid,
)

CLUSTER_ARGS = {
    "name": str,
    "namespace": str,
    "chart_name": str,
    "chart_version": str,
    "cover": bool,
    "data": bytes,
    "Keep_upgrade_job": bool,
}
USER_FIELDS = {"uuid": str, "username": str, "password": str, "salt": str, "email": str, "userStatus": str}
SERVICE_VERSION = "v1.4.5"
NOT_FOUND = "record not found"


def unauthorized(message: str, code: int = 401) -> Response:
    return json_response(code, {"code": code, "message": message})


class Api:
    def __init__(self, state: State) -> None:
        self.state = state
        self.router = Router()
        r = self.router.add
        r("GET", "/", self.root, auth=False)
        r("GET", "/v1/", self.error_path, auth=False)
        r("POST", "/v1/user/login", self.login, auth=False)
        r("POST", "/v1/user/logout", self.logout, auth=False)
        r("POST", "/v1/user", self.create_user)
        r("GET", "/v1/user/", self.list_users)
        r("GET", "/v1/user/:userId", self.get_user)
        r("PUT", "/v1/user/:userId", self.set_user)
        r("DELETE", "/v1/user/:userId", self.delete_user)
        r("POST", "/v1/cluster", self.create_cluster)
        r("PUT", "/v1/cluster", self.set_cluster)
        r("GET", "/v1/cluster/", self.list_clusters)
        r("GET", "/v1/cluster/:clusterId", self.get_cluster)
        r("DELETE", "/v1/cluster/:clusterId", self.delete_cluster)
        r("GET", "/v1/job/", self.list_jobs)
        r("GET", "/v1/job/:jobId", self.get_job)
        r("PUT", "/v1/job/:jobId", self.stop_job)
        r("DELETE", "/v1/job/:jobId", self.delete_job)
        r("POST", "/v1/chart", self.upload_chart)
        r("GET", "/v1/chart/", self.list_charts)
        r("GET", "/v1/chart/:chartId", self.get_chart)
        r("DELETE", "/v1/chart/:chartId", self.delete_chart)
        r("GET", "/v1/chart/valueTemplateExample/:chartName/:chartVersion", self.value_template_example)
        r("GET", "/v1/version/", self.version)
        r("GET", "/v1/namespace/", self.list_namespaces)
        r("GET", "/v1/log/:clusterID", self.get_log)
        r("GET", "/v1/log/:clusterID/ws", self.get_log_ws)

    # ------------------------------------------------------------------ dispatch

    def dispatch(self, req: Request) -> Response:
        if req.method == "GET" and req.path.startswith("/v1/swagger/"):
            return self.swagger(req)
        resolved = self.router.resolve(req.method, req.path, req.raw_query)
        if isinstance(resolved, Response):
            return resolved
        route, params = resolved
        req.params = params
        if route.auth:
            denied = self.authenticate(req)
            if denied is not None:
                return denied
        return route.handler(req)

    def authenticate(self, req: Request) -> Response | None:
        """gin-jwt ``MiddlewareFunc`` with ``TokenLookup: header: Authorization, query: token, cookie: jwt``."""
        token, err = "", ""
        header = req.header("authorization")
        if not header:
            err = "auth header is empty"
        else:
            parts = header.split(" ", 1)
            if len(parts) == 2 and parts[0] == "Bearer":
                token = parts[1]
            else:
                err = "auth header is invalid"
        if not token:
            token = req.arg("token") or ""
            if not token:
                err = "query token is empty"
        if not token:
            token = req.cookies().get("jwt", "")
            if not token:
                err = "cookie token is empty"
        if not token:
            return unauthorized(err)
        with self.state.lock:
            key = self.state.signing_key
        try:
            claims = auth.decode(token, key)
        except auth.TokenError as exc:
            return unauthorized(str(exc))
        username = claims.get("id")
        if not isinstance(username, str) or not username:
            return unauthorized("you don't have permission to access this resource", 403)
        req.user = username
        return None

    # ------------------------------------------------------------------ misc

    def root(self, req: Request) -> Response:
        return json_response(200, {"msg": "kubefate run Success"})

    def error_path(self, req: Request) -> Response:
        return error(400, "error path")

    def version(self, req: Request) -> Response:
        return json_response(200, {"msg": "getVersion Success", "version": SERVICE_VERSION})

    def swagger(self, req: Request) -> Response:
        name = req.path[len("/v1/swagger/") :]
        shared = charts.shared_charts_dir()
        doc = shared.parent / "api" / "swagger.json" if shared else None
        if name == "doc.json" and doc is not None and doc.is_file():
            return Response(200, doc.read_bytes(), JSON_TYPE)
        if name == "index.html":
            html = (
                "<!DOCTYPE html><html><head><title>Swagger UI</title></head><body>"
                "<p>KubeFATE emulator: the Swagger UI is not bundled; see <a href='doc.json'>doc.json</a>.</p>"
                "</body></html>"
            )
            return Response(200, html.encode(), "text/html; charset=utf-8")
        return not_found()

    def list_namespaces(self, req: Request) -> Response:
        now = time.time()
        with self.state.lock:
            items = [
                {
                    "Name": name,
                    "Status": "Active",
                    "Labels": {"kubernetes.io/metadata.name": name},
                    "Annotations": None,
                    "Age": goish.human_duration(now - created),
                }
                for name, created in sorted(self.state.namespaces.items())
            ]
        return json_response(200, {"data": items, "msg": "getNamespaceList Success"})

    # ------------------------------------------------------------------ users

    def login(self, req: Request) -> Response:
        ctype = req.header("content-type").lower()
        username = password = ""
        if "application/json" in ctype:
            try:
                doc = goish.bind_struct(req.body, "User", USER_FIELDS)
            except goish.GoError:
                return unauthorized("missing Username or Password")
            username, password = doc.get("username", ""), doc.get("password", "")
        else:
            form = parse_qs(req.raw_query)
            if "application/x-www-form-urlencoded" in ctype:
                form.update(parse_qs(req.body.decode("utf-8", errors="replace")))
            username = (form.get("username") or [""])[0]
            password = (form.get("password") or [""])[0]
        with self.state.lock:
            user = self.state.user_by_name(username) if username else None
            ttl = self.state.options.token_ttl
            key = self.state.signing_key
        if user is None or not auth.check_password(password, user.salt, user.password):
            return unauthorized("incorrect Username or Password")
        token, expire = auth.new_token(username, key, ttl)
        self.state.note_token(token)
        return json_response(200, {"code": 200, "expire": goish.format_time_seconds(expire), "token": token})

    def logout(self, req: Request) -> Response:
        return json_response(200, {"code": 200})

    def create_user(self, req: Request) -> Response:
        try:
            doc = goish.bind_struct(req.body, "User", USER_FIELDS)
        except goish.GoError as exc:
            return error(400, str(exc))
        username = doc.get("username", "")
        with self.state.lock:
            if self.state.user_by_name(username) is not None:
                return json_response(500, {"msg": f"Error 1062: Duplicate entry '{username}' for key 'username'"})
            salt = auth.new_salt()
            now = time.time()
            user = User(
                id=self.state.next_id("users"),
                created_at=now,
                updated_at=now,
                uuid=new_uuid(),
                username=username,
                password=auth.hash_password(doc.get("password", ""), salt),
                salt=salt,
                email=doc.get("email", ""),
                status=doc.get("userStatus") or "Available",
            )
            self.state.users.append(user)
            return json_response(200, {"msg": "createCluster Success", "data": user.to_json()})

    def list_users(self, req: Request) -> Response:
        with self.state.lock:
            users = [u.to_json() for u in self.state.users if u.deleted_at is None]
        return json_response(200, {"msg": "getUserList Success", "data": users})

    def get_user(self, req: Request) -> Response:
        with self.state.lock:
            user = self.state.user_by_uuid(req.params["userId"])
            if user is None:
                return error(500, NOT_FOUND)
            return json_response(200, {"msg": "getUser Success", "data": user.to_json()})

    def set_user(self, req: Request) -> Response:
        try:
            doc = goish.bind_struct(req.body, "User", USER_FIELDS)
        except goish.GoError as exc:
            return error(400, str(exc))
        with self.state.lock:
            user = self.state.user_by_uuid(req.params["userId"])
            if user is None:
                return error(500, NOT_FOUND)
            if doc.get("username"):
                user.username = doc["username"]
            if doc.get("password"):
                user.salt = auth.new_salt()
                user.password = auth.hash_password(doc["password"], user.salt)
            if doc.get("email"):
                user.email = doc["email"]
            if doc.get("userStatus"):
                user.status = doc["userStatus"]
            user.touch()
        return json_response(200, {"msg": "setUser Success"})

    def delete_user(self, req: Request) -> Response:
        with self.state.lock:
            self.state.users = [u for u in self.state.users if u.uuid != req.params["userId"]]
        return json_response(200, {"msg": "deleteUser Success"})

    # ------------------------------------------------------------------ clusters

    def _bind_cluster_args(self, req: Request) -> ClusterArgs | Response:
        try:
            doc = goish.bind_struct(req.body, "ClusterArgs", CLUSTER_ARGS)
        except goish.GoError as exc:
            return error(400, str(exc))
        return ClusterArgs(
            name=doc.get("name", ""),
            namespace=doc.get("namespace", ""),
            chart_name=doc.get("chart_name", ""),
            chart_version=doc.get("chart_version", ""),
            cover=doc.get("cover", False),
            data=doc.get("data"),
            keep_upgrade_job=doc.get("Keep_upgrade_job", False),
        )

    def create_cluster(self, req: Request) -> Response:
        args = self._bind_cluster_args(req)
        if isinstance(args, Response):
            return args
        if not args.chart_version or not args.chart_name:
            return error(500, "chartVersion cannot be empty")
        with self.state.lock:
            if self.state.cluster_by_name(args.name, args.namespace) is not None:
                return error(500, f"name={args.name} & namespace={args.namespace} Cluster already existed")
            job = self.state.new_job("ClusterInstall", args, req.user)
            body = {"msg": "createCluster Success", "data": job.to_json()}
            jobs.start(jobs.run_install, self.state, job)
        return json_response(200, body)

    def set_cluster(self, req: Request) -> Response:
        args = self._bind_cluster_args(req)
        if isinstance(args, Response):
            return args
        with self.state.lock:
            cluster = self.state.cluster_by_name(args.name, args.namespace)
            if cluster is None:
                return error(500, f"name={args.name} Cluster is not existed")
            try:
                spec_new = goish.parse_spec(args.text)
            except goish.GoError as exc:
                return error(500, str(exc))
            if cluster.chart_name == "fate":
                problem = _validate_fate_upgrade(cluster.spec, spec_new)
                if isinstance(problem, Response):
                    return problem
                if problem:
                    return error(500, problem)
            job = self.state.new_job("ClusterUpdate", args, req.user, cluster_id=cluster.uuid)
            body = {"msg": "setCluster Success", "data": job.to_json()}
            jobs.start(jobs.run_update, self.state, job)
        return json_response(200, body)

    def list_clusters(self, req: Request) -> Response:
        unscoped = req.arg("all") == "true"
        with self.state.lock:
            items = [c.to_json() for c in self.state.clusters if unscoped or c.deleted_at is None]
        return json_response(200, {"msg": "getClusterList Success", "data": items})

    def get_cluster(self, req: Request) -> Response:
        with self.state.lock:
            cluster = self.state.cluster_by_uuid(req.params["clusterId"])
            if cluster is None:
                return error(500, NOT_FOUND)
            info = self.state.cluster_info(cluster)
            self.state.refresh_cluster_status(cluster)
            return json_response(200, {"msg": "getCluster Success", "data": cluster.to_json(info)})

    def delete_cluster(self, req: Request) -> Response:
        with self.state.lock:
            cluster = self.state.cluster_by_uuid(req.params["clusterId"])
            if cluster is None:
                return error(500, NOT_FOUND)
            job = self.state.new_job("ClusterDelete", ClusterArgs(), req.user, cluster_id=cluster.uuid)
            body = {"msg": "deleteCluster Success", "data": job.to_json()}
            jobs.start(jobs.run_delete, self.state, job)
        return json_response(200, body)

    # ------------------------------------------------------------------ jobs

    def list_jobs(self, req: Request) -> Response:
        with self.state.lock:
            items = [j.to_json() for j in self.state.jobs if j.deleted_at is None]
        return json_response(200, {"data": items, "msg": "getJobList Success"})

    def get_job(self, req: Request) -> Response:
        with self.state.lock:
            job = self.state.job_by_uuid(req.params["jobId"])
            if job is None:
                return error(500, NOT_FOUND)
            return json_response(200, {"msg": "getJob Success", "data": job.to_json()})

    def stop_job(self, req: Request) -> Response:
        if req.arg("jobStatus") != "stop":
            return error(400, "jobStatus error")
        with self.state.lock:
            job = self.state.job_by_uuid(req.params["jobId"])
            if job is None:
                return error(500, f"get job by jobID error, please check job ID, {NOT_FOUND}")
            if job.method != "ClusterInstall":
                return error(500, f"{job.method} type jobs do not support stop")
            if job.status != JOB_RUNNING:
                return error(500, f"job status is {job.status}, not support stop")
            job.set_status(JOB_STOPPING)
        return json_response(200, {"msg": "stop Job Success", "data": "Stop Job Success"})

    def delete_job(self, req: Request) -> Response:
        with self.state.lock:
            job = self.state.job_by_uuid(req.params["jobId"])
            if job is None:
                return error(500, NOT_FOUND)
            job.deleted_at = time.time()
            job.touch()
        return json_response(200, {"msg": "delete Job Success"})

    # ------------------------------------------------------------------ charts

    def upload_chart(self, req: Request) -> Response:
        try:
            parts = parse_multipart(req.header("content-type"), req.body)
        except MultipartError as exc:
            return error(500, str(exc))
        part = next((p for p in parts if p.name == "file" and p.filename is not None), None)
        if part is None:
            return error(500, "http: no such file")
        try:
            package = charts.ChartPackage.from_archive(part.content)
        except charts.ChartError as exc:
            return error(500, str(exc))
        with self.state.lock:
            chart = self.state.store_chart(package, source="upload")
        return json_response(200, {"msg": "CreateChart Success", "data": {"helmUUID": chart.uuid}})

    def list_charts(self, req: Request) -> Response:
        with self.state.lock:
            items = [c.to_json() for c in self.state.charts if c.deleted_at is None]
        return json_response(200, {"msg": "getChartList Success", "data": items})

    def get_chart(self, req: Request) -> Response:
        with self.state.lock:
            chart = self.state.chart_by_uuid(req.params["chartId"])
            if chart is None:
                return error(500, NOT_FOUND)
            return json_response(200, {"msg": "getChart Success", "data": chart.to_json()})

    def delete_chart(self, req: Request) -> Response:
        with self.state.lock:
            chart = self.state.chart_by_uuid(req.params["chartId"])
            if chart is not None:
                chart.deleted_at = time.time()
                chart.touch()
        return json_response(200, {"msg": "deleteChart Success"})

    def value_template_example(self, req: Request) -> Response:
        try:
            package = self.state.resolve_chart(req.params["chartName"], req.params["chartVersion"])
        except HelmError as exc:
            return error(500, str(exc))
        return json_response(200, {"msg": "getChartByNameVersion Success", "data": package.values_template_example})

    # ------------------------------------------------------------------ logs

    def get_log(self, req: Request) -> Response:
        try:
            query = _log_query(req)
        except goish.GoError as exc:
            return error(400, str(exc))
        with self.state.lock:
            cluster = self.state.cluster_by_uuid(req.params["clusterID"])
            if cluster is None:
                return error(400, f"get Cluster error, {NOT_FOUND}")
            pods = self.state.cluster_pods(cluster)
            statuses = {w.name: self.state.workload_status(w) for _p, _c, w in pods}
        if query["container"]:
            pods = [p for p in pods if p[1] == query["container"]]
        if query["previous"] and pods:
            pod, container, _w = pods[0]
            return error(500, f'previous terminated container "{container}" in pod "{pod}" not found')
        prefix = len(pods) > 1
        chunks = []
        for pod, container, workload in pods:
            if statuses.get(workload.name) != "Available":
                continue
            lines = _container_log(pod, container, workload.ready_at, query, _db_password(cluster.spec))
            text = "".join((f"[{pod} {container}] " if prefix else "") + line for line in lines)
            if query["limit_bytes"] is not None:
                text = text.encode()[: query["limit_bytes"]].decode("utf-8", errors="ignore")
            chunks.append(text)
        return json_response(200, {"data": "".join(chunks), "msg": "getClusterLog Success"})

    def get_log_ws(self, req: Request) -> Response:
        with self.state.lock:
            cluster = self.state.cluster_by_uuid(req.params["clusterID"])
        if cluster is None:
            return error(400, f"get Cluster error, {NOT_FOUND}")
        return Response(
            501,
            b"websocket log streaming (follow) is not emulated by the KubeFATE emulator; "
            b"use GET /v1/log/{clusterID} for a one-shot log",
            "text/plain; charset=utf-8",
        )


def _validate_fate_upgrade(spec_old: dict, spec_new: dict) -> str | Response | None:
    """``FateUpgradeManager.validate``: returns the error text, or an empty-bodied 500 for a panic."""
    names = [spec_old.get("chartName"), spec_new.get("chartName")]
    versions = [spec_old.get("chartVersion"), spec_new.get("chartVersion")]
    if not all(isinstance(v, str) for v in names + versions):
        # interface conversion panic, recovered by gin: 500 with an empty body
        return Response(500, b"", None)
    if names[0] != names[1]:
        return "doesn't support upgrade between different charts"
    old_v, new_v = versions
    if old_v == new_v:
        if json.dumps(spec_old, sort_keys=True) == json.dumps(spec_new, sort_keys=True) or spec_old == spec_new:
            return "the configuration file did not change"
        return None
    if goish.version_tuple(new_v) < goish.version_tuple(old_v):
        return "using kubefate to downgrade a cluster is not supported yet"
    if goish.version_tuple(old_v) <= (1, 7, 1):
        return "upgrade from FATE version <= 1.7.1 is not supported by KubeFATE"
    return None


def _log_query(req: Request) -> dict:
    out: dict = {"container": req.arg("container") or ""}
    out["previous"] = goish.parse_bool(req.arg("previous")) if req.arg("previous") else False
    out["timestamps"] = goish.parse_bool(req.arg("timestamps")) if req.arg("timestamps") else False
    out["since"] = goish.parse_int(req.arg("since")) if req.arg("since") else None
    out["tail"] = goish.parse_int(req.arg("tail")) if req.arg("tail") else None
    out["limit_bytes"] = goish.parse_int(req.arg("limit-bytes")) if req.arg("limit-bytes") else None
    since_time = req.arg("since-time")
    out["since_time"] = None
    if since_time:
        try:
            out["since_time"] = dt.datetime.fromisoformat(since_time.replace("Z", "+00:00")).timestamp()
        except ValueError as exc:
            raise goish.GoError(
                f'parsing time "{since_time}" as "2006-01-02T15:04:05Z07:00": cannot parse "{since_time}"'
            ) from exc
    return out


_LOG_TEMPLATES = (
    "starting {container} (pod {pod})",
    "loading configuration from /data/projects/fate/conf",
    "connecting to mysql:3306 (user fate, passwd {db_password})",
    "connection established",
    "initialising {container} services",
    "listening on port {port}",
    "health check passed",
    "{container} is ready",
    "heartbeat ok",
    "heartbeat ok",
    "heartbeat ok",
    "heartbeat ok",
)


def _db_password(spec: dict) -> str:
    """The MySQL password of a cluster.yaml, which FATE's services print with their database settings."""
    return str(((spec or {}).get("mysql") or {}).get("password") or "fate_dev")


def _container_log(pod: str, container: str, ready_at: float, query: dict, db_password: str = "") -> list[str]:
    """Deterministic synthetic log lines of one container (with the database password, as real logs leak it)."""
    port = 9000 + int(hashlib.sha256(container.encode()).hexdigest(), 16) % 1000
    now = time.time()
    lines = []
    for index, template in enumerate(_LOG_TEMPLATES):
        moment = ready_at - len(_LOG_TEMPLATES) + 1 + index
        if query["since"] is not None and moment < now - query["since"]:
            continue
        if query["since_time"] is not None and moment < query["since_time"]:
            continue
        level = "INFO"
        text = template.format(container=container, pod=pod, port=port, db_password=db_password)
        line = f"[{level}] {container}: {text}\n"
        if query["timestamps"]:
            stamp = dt.datetime.fromtimestamp(moment, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            line = f"{stamp} {line}"
        lines.append(line)
    if query["tail"] is not None and query["tail"] >= 0:
        lines = lines[-query["tail"] :] if query["tail"] else []
    return lines
