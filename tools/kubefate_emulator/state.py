"""The emulator's whole state: KubeFATE's database rows and the Kubernetes/Helm side they describe.

Everything is guarded by one re-entrant lock (``State.lock``). Rendering a chart is slow (~0.3 s), so
callers render without the lock and take it only to read or change rows and releases.

The "database" (users, clusters, jobs, charts) survives a restart unless ``ephemeral_db`` is set; the
"cluster" side (helm releases, namespaces) always survives, as it does in a real Kubernetes cluster.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
import uuid as uuidlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import auth, charts, goish
from .options import Options

# Job and cluster status strings (``modules.JobStatus`` / ``modules.ClusterStatus``).
JOB_PENDING, JOB_RUNNING, JOB_SUCCESS, JOB_FAILED = "Pending", "Running", "Success", "Failed"
JOB_ROLLBACK, JOB_TIMEOUT, JOB_STOPPING, JOB_CANCELED = "Rollback", "Timeout", "Stopping", "Canceled"
CL_PENDING, CL_CREATING, CL_DELETING, CL_UPDATING = "Pending", "Creating", "Deleting", "Updating"
CL_RUNNING, CL_UNAVAILABLE, CL_DELETED, CL_ROLLBACK = "Running", "Unavailable", "Deleted", "Rollback"

AVAILABLE, PROGRESSING = "Available", "Progressing"
UPGRADE_MANAGER = ("fate-upgrade-manager", "v1.0.0")
UPGRADE_JOB = "fate-mysql-upgrade-job"
BASE_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease", "kube-fate")
REPO_NAME = "kubefate"
MAX_TOKENS = 1000  # issued JWTs kept for the control API (the oldest are dropped)


class HelmError(Exception):
    """An error the Helm SDK would return; the message is Helm's text."""


def new_uuid() -> str:
    return str(uuidlib.uuid4())


# --------------------------------------------------------------------------------------------- rows


@dataclass(kw_only=True)
class Row:
    """``gorm.Model``."""

    id: int
    created_at: float
    updated_at: float
    deleted_at: float | None = None

    def touch(self) -> None:
        self.updated_at = time.time()

    def gorm(self) -> dict[str, Any]:
        return {
            "ID": self.id,
            "CreatedAt": goish.format_time(self.created_at),
            "UpdatedAt": goish.format_time(self.updated_at),
            "DeletedAt": None if self.deleted_at is None else goish.format_time(self.deleted_at),
        }


@dataclass(kw_only=True)
class ClusterArgs:
    name: str = ""
    namespace: str = ""
    chart_name: str = ""
    chart_version: str = ""
    cover: bool = False
    data: bytes | None = None
    keep_upgrade_job: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "chart_name": self.chart_name,
            "chart_version": self.chart_version,
            "cover": self.cover,
            "data": goish.b64encode_std(self.data),
            "Keep_upgrade_job": self.keep_upgrade_job,
        }

    @property
    def text(self) -> str:
        return (self.data or b"").decode("utf-8", errors="replace")


@dataclass(kw_only=True)
class Job(Row):
    uuid: str
    start_time: float
    end_time: float | None = None
    method: str
    cluster_id: str = ""
    creator: str
    sub_jobs: dict[str, dict] | None = None
    status: str = JOB_PENDING
    time_limit: float
    meta: ClusterArgs
    states: list[str] | None = None

    def add_state(self, text: str) -> None:
        self.states = [*(self.states or []), text]
        self.touch()

    def set_last_state(self, text: str, prefix: str) -> None:
        states = list(self.states or [])
        if states and states[-1].startswith(prefix):
            states[-1] = text
        else:
            states.append(text)
        self.states = states
        self.touch()

    def set_status(self, status: str) -> None:
        self.status = status
        self.touch()

    def timed_out(self, now: float) -> bool:
        return now > self.start_time + self.time_limit

    def to_json(self) -> dict[str, Any]:
        sub_jobs = None
        if self.sub_jobs is not None:
            sub_jobs = {
                key: {
                    "ModuleName": sj["ModuleName"],
                    "Status": sj["Status"],
                    "ModulesStatus": sj["ModulesStatus"],
                    "StartTime": goish.format_time(sj["StartTime"]),
                    "EndTime": goish.format_time(sj["EndTime"]),
                }
                for key, sj in sorted(self.sub_jobs.items())
            }
        return {
            "uuid": self.uuid,
            "start_time": goish.format_time(self.start_time),
            "end_time": goish.format_time(self.end_time),
            "method": self.method,
            "cluster_id": self.cluster_id,
            "creator": self.creator,
            "sub_jobs": sub_jobs,
            "status": self.status,
            "time_limit": round(self.time_limit * 1_000_000_000),
            "meta_data": self.meta.to_json(),
            "states": None if self.states is None else list(self.states),
            **self.gorm(),
        }


@dataclass(kw_only=True)
class Cluster(Row):
    uuid: str
    name: str
    namespace: str
    chart_name: str
    chart_version: str
    values: str
    spec: dict[str, Any]
    revision: int = 0
    helm_revision: int = 0
    status: str = CL_PENDING

    def set_status(self, status: str) -> None:
        self.status = status
        self.touch()

    def to_json(self, info: dict | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "uuid": self.uuid,
            "name": self.name,
            "namespaces": self.namespace,
            "chart_name": self.chart_name,
            "chart_version": self.chart_version,
            "values": self.values,
        }
        if self.spec:
            out["Spec"] = goish.sort_keys(self.spec)
        out.update(
            {
                "revision": self.revision,
                "helm_revision": self.helm_revision,
                "chart_values": None,
                "status": self.status,
            }
        )
        if info:
            out["Info"] = info
        out.update(self.gorm())
        return out


@dataclass(kw_only=True)
class Chart(Row):
    uuid: str
    package: charts.ChartPackage
    source: str = "upload"

    def to_json(self) -> dict[str, Any]:
        pkg = self.package
        return {
            "uuid": self.uuid,
            "name": pkg.name,
            "chart": pkg.chart_yaml,
            "values": pkg.values,
            "values_template": pkg.values_template,
            "values_template_example": pkg.values_template_example,
            "templates": pkg.templates,
            "version": pkg.version,
            "app_version": pkg.app_version,
            **self.gorm(),
        }


@dataclass(kw_only=True)
class User(Row):
    uuid: str
    username: str
    password: str
    salt: str
    email: str = ""
    status: str = "Available"

    def to_json(self) -> dict[str, Any]:
        out = {"uuid": self.uuid, "username": self.username, "password": self.password, "salt": self.salt}
        if self.email:
            out["email"] = self.email
        out["userStatus"] = self.status
        gorm = self.gorm()
        if gorm["DeletedAt"] is None:
            del gorm["DeletedAt"]
        out.update(gorm)
        return out


# ------------------------------------------------------------------------------- kubernetes side


@dataclass
class Workload:
    kind: str
    name: str
    label_name: str
    replicas: int
    containers: list[str]
    pods: list[str]
    ready_at: float
    digest: str


@dataclass
class Revision:
    number: int
    chart_name: str
    chart_version: str
    spec: dict[str, Any]
    objects: list[dict]
    workloads: dict[str, Workload]
    deployed_at: float
    description: str = "Install complete"


@dataclass
class Release:
    name: str
    namespace: str
    history: list[Revision] = field(default_factory=list)

    @property
    def current(self) -> Revision:
        return self.history[-1]

    def object_keys(self) -> set[tuple[str, str]]:
        return {(o.get("kind", ""), (o.get("metadata") or {}).get("name", "")) for o in self.current.objects}


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _pod_suffix(seed: str, length: int) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    raw = hashlib.sha256(seed.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in raw[:length])


# ------------------------------------------------------------------------------------------ state


class State:
    def __init__(self, options: Options) -> None:
        self.lock = threading.RLock()
        self.options = options
        self.renderer = charts.Renderer()
        self.started_at = time.time()
        self.generation = 0
        self.restarts = 0
        self.down_until = 0.0
        self.signing_key = auth.random_key()
        self.rng = random.Random(options.seed)
        self.users: list[User] = []
        self.clusters: list[Cluster] = []
        self.jobs: list[Job] = []
        self.charts: list[Chart] = []
        self._ids: dict[str, int] = {}
        self.releases: dict[tuple[str, str], Release] = {}
        self.namespaces: dict[str, float] = dict.fromkeys(BASE_NAMESPACES, self.started_at)
        self.requests: list[dict[str, Any]] = []
        self.request_seq = 0
        self.tokens: list[str] = []  # every JWT issued, for tests that check clients never show one
        self.repo: dict[tuple[str, str], charts.ChartPackage] = {}
        self.repo_dir: Path | None = None
        self.load_repo(options.charts_dir)
        self.bootstrap_admin()

    # ---------------------------------------------------------------- lifecycle

    def load_repo(self, directory: str | None) -> None:
        path = Path(directory) if directory else charts.shared_charts_dir()
        self.repo_dir = path if path is not None and path.is_dir() else None
        self.repo = charts.load_shared_charts(self.repo_dir) if self.repo_dir else {}

    def next_id(self, table: str) -> int:
        self._ids[table] = self._ids.get(table, 0) + 1
        return self._ids[table]

    def bootstrap_admin(self) -> None:
        """``generateAdminUser()``: delete and re-create the configured user at every start."""
        username = self.options.username
        self.users = [u for u in self.users if u.username != username]
        salt = auth.new_salt()
        now = time.time()
        self.users.append(
            User(
                id=self.next_id("users"),
                created_at=now,
                updated_at=now,
                uuid=new_uuid(),
                username=username,
                password=auth.hash_password(self.options.password, salt),
                salt=salt,
            )
        )

    def note_token(self, token: str) -> None:
        with self.lock:
            self.tokens.append(token)
            del self.tokens[:-MAX_TOKENS]

    def restart(self, ephemeral_db: bool | None = None) -> None:
        """The kubefate pod restarts: new signing key, job goroutines gone, maybe the DB too."""
        with self.lock:
            ephemeral = self.options.ephemeral_db if ephemeral_db is None else ephemeral_db
            self.generation += 1
            self.restarts += 1
            self.signing_key = auth.random_key()
            self.started_at = time.time()
            self.down_until = self.started_at + self.options.restart_downtime
            if ephemeral:
                self.users, self.clusters, self.jobs, self.charts = [], [], [], []
                self._ids = {}
            self.bootstrap_admin()

    def alive(self, generation: int) -> bool:
        """Whether a job goroutine started in ``generation`` still exists (no restart since)."""
        return generation == self.generation

    # ---------------------------------------------------------------- rows

    def user_by_name(self, username: str) -> User | None:
        return next((u for u in self.users if u.username == username and u.deleted_at is None), None)

    def user_by_uuid(self, uuid: str) -> User | None:
        return next((u for u in self.users if u.uuid == uuid and u.deleted_at is None), None)

    def job_by_uuid(self, uuid: str) -> Job | None:
        return next((j for j in self.jobs if j.uuid == uuid and j.deleted_at is None), None)

    def cluster_by_uuid(self, uuid: str, unscoped: bool = False) -> Cluster | None:
        return next((c for c in self.clusters if c.uuid == uuid and (unscoped or c.deleted_at is None)), None)

    def cluster_by_name(self, name: str, namespace: str) -> Cluster | None:
        return next(
            (c for c in self.clusters if c.name == name and c.namespace == namespace and c.deleted_at is None), None
        )

    def chart_by_uuid(self, uuid: str) -> Chart | None:
        return next((c for c in self.charts if c.uuid == uuid and c.deleted_at is None), None)

    def chart_by_name(self, name: str, version: str) -> Chart | None:
        return next(
            (
                c
                for c in self.charts
                if c.package.name == name and c.package.version == version and c.deleted_at is None
            ),
            None,
        )

    def new_job(self, method: str, args: ClusterArgs, creator: str, cluster_id: str = "") -> Job:
        now = time.time()
        job = Job(
            id=self.next_id("jobs"),
            created_at=now,
            updated_at=now,
            uuid=new_uuid(),
            start_time=now,
            method=method,
            cluster_id=cluster_id,
            creator=creator,
            time_limit=self.options.time_limit,
            meta=args,
        )
        self.jobs.append(job)
        return job

    def new_cluster(self, args: ClusterArgs, spec: dict) -> Cluster:
        now = time.time()
        cluster = Cluster(
            id=self.next_id("clusters"),
            created_at=now,
            updated_at=now,
            uuid=new_uuid(),
            name=args.name,
            namespace=args.namespace,
            chart_name=args.chart_name,
            chart_version=args.chart_version,
            values=args.text,
            spec=spec,
            status=CL_PENDING,
        )
        self.clusters.append(cluster)
        return cluster

    def store_chart(self, package: charts.ChartPackage, source: str) -> Chart:
        """``HelmChart.Upload``: a chart with the same name and version is replaced."""
        now = time.time()
        for old in self.charts:
            if old.deleted_at is None and (old.package.name, old.package.version) == (package.name, package.version):
                old.deleted_at = now
                old.touch()
        chart = Chart(
            id=self.next_id("charts"), created_at=now, updated_at=now, uuid=new_uuid(), package=package, source=source
        )
        self.charts.append(chart)
        return chart

    # ---------------------------------------------------------------- charts

    def repo_lookup(self, name: str, version: str) -> charts.ChartPackage | None:
        """The default Helm repository: the charts directory, without fate v2.0.0 (it is not published)."""
        if (name, version) == ("fate", "v2.0.0") and not self.options.repo_has_all:
            return None
        return self.repo.get((name, version))

    def resolve_chart(self, name: str, version: str) -> charts.ChartPackage:
        """``GetFateChart``: the DB first, else download from the repository and store it in the DB."""
        with self.lock:
            row = self.chart_by_name(name, version)
            if row is not None:
                return row.package
            package = self.repo_lookup(name, version)
            if package is None:
                raise HelmError(
                    f'failed to download "{REPO_NAME}/{name}" at version "{version}" '
                    "(hint: running `helm repo update` may help)"
                )
            self.store_chart(package, source="repository")
            return package

    def render(self, package: charts.ChartPackage, spec: dict, name: str, namespace: str) -> list[dict]:
        """Render and validate like ``helm install`` would; raise HelmError with Helm-like text."""
        try:
            objects = self.renderer.render(package, spec, name, namespace)
        except charts.ChartError as exc:
            raise HelmError(str(exc)) from exc
        errors = charts.validate(objects, self.options.kube_version)
        if errors:
            raise HelmError(
                'unable to build kubernetes objects from release manifest: error validating "": '
                f"error validating data: [{'; '.join(errors)}]"
            )
        return objects

    # ---------------------------------------------------------------- kubernetes / helm

    def namespace_exists(self, namespace: str) -> bool:
        return namespace in self.namespaces or not self.options.strict_namespaces

    def _workloads(self, release_name: str, namespace: str, objects: list[dict], previous: Revision | None) -> dict:
        now = time.time()
        found = charts.workloads(objects)
        total = len(found)
        span = self.options.job_seconds
        spread = self.options.module_spread
        out: dict[str, Workload] = {}
        for index, obj in enumerate(found):
            meta = obj.get("metadata") or {}
            name = str(meta.get("name", ""))
            spec = obj.get("spec") or {}
            digest = _digest(obj)
            old = previous.workloads.get(name) if previous else None
            if old is not None and old.digest == digest:
                out[name] = old
                continue
            replicas = spec.get("replicas")
            replicas = replicas if isinstance(replicas, int) and not isinstance(replicas, bool) else 1
            pod_spec = ((spec.get("template") or {}).get("spec")) or {}
            containers = [str(c.get("name")) for c in pod_spec.get("containers") or [] if isinstance(c, dict)]
            if obj.get("kind") == "StatefulSet":
                pods = [f"{name}-{i}" for i in range(replicas)]
            else:
                template_hash = _pod_suffix(f"{namespace}/{release_name}/{name}/{digest}", 10)
                pods = [f"{name}-{template_hash}-{_pod_suffix(f'{template_hash}/{i}', 5)}" for i in range(replicas)]
            offset = span * (1 - spread) + span * spread * (index + 1) / max(total, 1)
            out[name] = Workload(
                kind=str(obj.get("kind")),
                name=name,
                label_name=str((meta.get("labels") or {}).get("name", "")),
                replicas=replicas,
                containers=containers,
                pods=pods,
                ready_at=now + offset,
                digest=digest,
            )
        return out

    def helm_install(self, name: str, namespace: str, package: charts.ChartPackage, spec: dict, objects: list) -> None:
        with self.lock:
            if (namespace, name) in self.releases:
                raise HelmError("cannot re-use a name that is still in use")
            mine = {(o.get("kind", ""), (o.get("metadata") or {}).get("name", "")) for o in objects}
            for other in self.releases.values():
                if other.namespace != namespace:
                    continue
                for kind, obj_name in sorted(mine & other.object_keys()):
                    raise HelmError(
                        "rendered manifests contain a resource that already exists. Unable to continue with "
                        f'install: {kind} "{obj_name}" in namespace "{namespace}" exists and cannot be imported '
                        "into the current release: invalid ownership metadata; annotation validation error: "
                        f'key "meta.helm.sh/release-name" must equal "{name}": current value is "{other.name}"'
                    )
            if not self.namespace_exists(namespace):
                raise HelmError(f'create: failed to create: namespaces "{namespace}" not found')
            self.namespaces.setdefault(namespace, time.time())
            release = Release(name=name, namespace=namespace)
            release.history.append(
                Revision(
                    number=1,
                    chart_name=package.name,
                    chart_version=package.version,
                    spec=spec,
                    objects=objects,
                    workloads=self._workloads(name, namespace, objects, None),
                    deployed_at=time.time(),
                )
            )
            self.releases[(namespace, name)] = release

    def helm_upgrade(self, name: str, namespace: str, package: charts.ChartPackage, spec: dict, objects: list) -> int:
        with self.lock:
            release = self.releases.get((namespace, name))
            if release is None:
                raise HelmError(f'UPGRADE FAILED: "{name}" has no deployed releases')
            current = release.current
            number = current.number + 1
            release.history.append(
                Revision(
                    number=number,
                    chart_name=package.name,
                    chart_version=package.version,
                    spec=spec,
                    objects=objects,
                    workloads=self._workloads(name, namespace, objects, current),
                    deployed_at=time.time(),
                    description="Upgrade complete",
                )
            )
            return number

    def helm_rollback(self, name: str, namespace: str, revision: int) -> None:
        """``helm rollback NAME REVISION``; revision 0 (or below) means the previous one."""
        with self.lock:
            release = self.releases.get((namespace, name))
            if release is None:
                raise HelmError(f"release: not found: {name}")
            if revision <= 0:
                if len(release.history) < 2:
                    raise HelmError(f'release has no {max(revision, 0)} version: "{name}"')
                target = release.history[-2]
            else:
                target = next((r for r in release.history if r.number == revision), None)
                if target is None:
                    raise HelmError(f'release: not found: "{name}" revision {revision}')
            current = release.current
            release.history.append(
                Revision(
                    number=current.number + 1,
                    chart_name=target.chart_name,
                    chart_version=target.chart_version,
                    spec=target.spec,
                    objects=target.objects,
                    workloads=self._workloads(name, namespace, target.objects, current),
                    deployed_at=time.time(),
                    description=f"Rollback to {target.number}",
                )
            )

    def helm_uninstall(self, name: str, namespace: str) -> None:
        with self.lock:
            if self.releases.pop((namespace, name), None) is None:
                raise HelmError(f"uninstall: Release not loaded: {name}: release: not found")

    def workload_status(self, workload: Workload, now: float | None = None) -> str:
        now = time.time() if now is None else now
        if workload.name in self.options.fail_modules:
            return PROGRESSING
        return AVAILABLE if now >= workload.ready_at else PROGRESSING

    def selected_workloads(self, namespace: str, label_name: str) -> list[Workload]:
        """Deployments and StatefulSets labelled ``name=<label_name>`` in ``namespace`` (any release)."""
        found = []
        for release in self.releases.values():
            if release.namespace == namespace:
                found.extend(w for w in release.current.workloads.values() if w.label_name == label_name)
        return found

    def selected_objects(self, namespace: str, label_name: str, kind: str) -> list[dict]:
        found = []
        for release in self.releases.values():
            if release.namespace != namespace:
                continue
            for obj in release.current.objects:
                labels = (obj.get("metadata") or {}).get("labels") or {}
                if obj.get("kind") == kind and labels.get("name") == label_name:
                    found.append(obj)
        return found

    def module_statuses(self, namespace: str, label_name: str) -> dict[str, tuple[str, str]]:
        """``GetClusterDeployStatus`` + ``GetClusterStsStatus``: name → (kind, module status)."""
        now = time.time()
        return {w.name: (w.kind, self.workload_status(w, now)) for w in self.selected_workloads(namespace, label_name)}

    def cluster_info(self, cluster: Cluster) -> dict[str, Any]:
        """``GetClusterInfo``: live view of the cluster's objects."""
        now = time.time()
        containers: dict[str, str] = {}
        deployments: dict[str, str] = {}
        stateful_sets: dict[str, str] = {}
        for workload in self.selected_workloads(cluster.namespace, cluster.name):
            status = self.workload_status(workload, now)
            (deployments if workload.kind == "Deployment" else stateful_sets)[workload.name] = status
            phase = "Running" if status == AVAILABLE else "Pending"
            for container in workload.containers:
                containers[container] = phase
        info: dict[str, Any] = {"ip": self.options.node_ip}
        for service in self.selected_objects(cluster.namespace, cluster.name, "Service"):
            if (service.get("metadata") or {}).get("name") != "rollsite":
                continue
            for port in (service.get("spec") or {}).get("ports") or []:
                if port.get("port") == 9370 and port.get("nodePort"):
                    info["port"] = port["nodePort"]
        hosts = []
        for ingress in self.selected_objects(cluster.namespace, cluster.name, "Ingress"):
            for rule in (ingress.get("spec") or {}).get("rules") or []:
                if rule.get("host"):
                    hosts.append(rule["host"])
        info["status"] = {
            "containers": dict(sorted(containers.items())),
            "deployments": dict(sorted(deployments.items())),
            "statefulSets": dict(sorted(stateful_sets.items())),
        }
        info["dashboard"] = hosts or None
        return {k: info[k] for k in sorted(info)}

    def refresh_cluster_status(self, cluster: Cluster) -> None:
        """``CheckClusterInfoStatus``: Running/Unavailable from the Deployments only."""
        if cluster.status not in (CL_RUNNING, CL_UNAVAILABLE):
            return
        now = time.time()
        deployments = [w for w in self.selected_workloads(cluster.namespace, cluster.name) if w.kind == "Deployment"]
        status = CL_RUNNING if all(self.workload_status(w, now) == AVAILABLE for w in deployments) else CL_UNAVAILABLE
        if status != cluster.status:
            cluster.set_status(status)

    def cluster_pods(self, cluster: Cluster) -> list[tuple[str, str, Workload]]:
        """(pod, container, workload) for the cluster's containers; one pod wins per container name."""
        by_container: dict[str, tuple[str, str, Workload]] = {}
        for workload in self.selected_workloads(cluster.namespace, cluster.name):
            for pod in workload.pods:
                for container in workload.containers:
                    by_container[container] = (pod, container, workload)
        return [by_container[k] for k in sorted(by_container)]

    # ---------------------------------------------------------------- summary

    def summary(self) -> dict[str, Any]:
        now = time.time()
        with self.lock:
            return {
                "generation": self.generation,
                "restarts": self.restarts,
                "started_at": goish.format_time(self.started_at),
                "repository": {
                    "dir": str(self.repo_dir) if self.repo_dir else None,
                    "charts": sorted(f"{n}:{v}" for (n, v) in self.repo if self.repo_lookup(n, v) is not None),
                },
                "namespaces": sorted(self.namespaces),
                "users": [u.username for u in self.users if u.deleted_at is None],
                "tokens": list(self.tokens),
                "clusters": [
                    {
                        "uuid": c.uuid,
                        "name": c.name,
                        "namespace": c.namespace,
                        "chart": f"{c.chart_name}:{c.chart_version}",
                        "status": c.status,
                        "revision": c.revision,
                        "helm_revision": c.helm_revision,
                        "deleted": c.deleted_at is not None,
                    }
                    for c in self.clusters
                ],
                "jobs": [
                    {
                        "uuid": j.uuid,
                        "method": j.method,
                        "status": j.status,
                        "cluster_id": j.cluster_id,
                        "name": j.meta.name,
                        "namespace": j.meta.namespace,
                        "states": list(j.states or []),
                        "deleted": j.deleted_at is not None,
                    }
                    for j in self.jobs
                ],
                "releases": [
                    {
                        "name": r.name,
                        "namespace": r.namespace,
                        "chart": f"{r.current.chart_name}:{r.current.chart_version}",
                        "revision": r.current.number,
                        "description": r.current.description,
                        "workloads": {
                            w.name: {"kind": w.kind, "status": self.workload_status(w, now), "label": w.label_name}
                            for w in r.current.workloads.values()
                        },
                        "objects": len(r.current.objects),
                    }
                    for r in self.releases.values()
                ],
                "charts": [
                    {
                        "uuid": c.uuid,
                        "name": c.package.name,
                        "version": c.package.version,
                        "source": c.source,
                        "deleted": c.deleted_at is not None,
                    }
                    for c in self.charts
                ],
            }
