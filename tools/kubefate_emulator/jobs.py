"""The job goroutines of the KubeFATE server: install, update and delete (``k8s-deploy/pkg/job``).

Each job runs in its own daemon thread. A thread remembers the server generation it started in; after
an emulated restart (``State.restart``) it stops touching anything, so its job stays in whatever status
it had, typically ``Running`` forever, as after a real kubefate pod restart.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

from . import goish
from .state import (
    AVAILABLE,
    CL_CREATING,
    CL_DELETED,
    CL_DELETING,
    CL_ROLLBACK,
    CL_RUNNING,
    CL_UPDATING,
    JOB_CANCELED,
    JOB_FAILED,
    JOB_ROLLBACK,
    JOB_RUNNING,
    JOB_STOPPING,
    JOB_SUCCESS,
    UPGRADE_JOB,
    UPGRADE_MANAGER,
    Cluster,
    HelmError,
    Job,
    Release,
    Revision,
    State,
    Workload,
)

POLL = 0.1  # seconds between status checks (the real server: 1 s for installs, 5 s for updates)
CHECKOUT = "checkout Cluster status ["


def start(target: Callable[..., None], state: State, job: Job) -> None:
    thread = threading.Thread(
        target=_guard, args=(target, state, job.uuid, state.generation), name=f"job-{job.uuid[:8]}", daemon=True
    )
    thread.start()


def _guard(target: Callable[..., None], state: State, job_uuid: str, generation: int) -> None:
    try:
        target(state, job_uuid, generation)
    except Exception as exc:  # pragma: no cover - a bug in the emulator; show it and fail the job
        import traceback  # noqa: PLC0415

        traceback.print_exc()
        with state.lock:
            job = state.job_by_uuid(job_uuid)
            if job is not None and state.alive(generation):
                job.add_state(f"emulator internal error: {exc}")
                job.set_status(JOB_FAILED)


def _begin(state: State, job_uuid: str, generation: int) -> Job | None:
    """Job → Running. Returns None when the job must not progress (gone, restarted, ``stuck``)."""
    with state.lock:
        job = state.job_by_uuid(job_uuid)
        if job is None or not state.alive(generation):
            return None
        job.set_status(JOB_RUNNING)
        job.states = ["update job status to Running"]
        job.touch()
        if state.options.stuck:
            return None
        return job


def _clean(state: State, cluster: Cluster | None, name: str, namespace: str) -> None:
    """``clean()`` of the install job: DB row Deleted + soft-deleted, helm uninstall (errors ignored)."""
    with state.lock:
        if cluster is not None:
            cluster.set_status(CL_DELETED)
            if cluster.deleted_at is None:
                cluster.deleted_at = time.time()
        with contextlib.suppress(HelmError):
            state.helm_uninstall(name, namespace)


def _sub_jobs(state: State, job: Job, namespace: str, label_name: str) -> bool:
    """``generateSubJobs`` + ``CheckClusterStatus``: refresh ``sub_jobs``; True when all are Available."""
    now = time.time()
    statuses = state.module_statuses(namespace, label_name)
    previous = job.sub_jobs or {}
    sub_jobs = {}
    for module, (_kind, module_status) in statuses.items():
        old = previous.get(module) or {}
        success = module_status == AVAILABLE
        end = old.get("EndTime")
        if success and end is None:
            end = now
        sub_jobs[module] = {
            "ModuleName": module,
            "Status": "Success" if success else "Running",
            "ModulesStatus": module_status,
            "StartTime": job.start_time,
            "EndTime": end,
        }
    job.sub_jobs = sub_jobs
    job.touch()
    return bool(statuses) and all(s == AVAILABLE for _k, s in statuses.values())


# ----------------------------------------------------------------------------------------- install


def run_install(state: State, job_uuid: str, generation: int) -> None:
    job = _begin(state, job_uuid, generation)
    if job is None:
        return
    args = job.meta
    with state.lock:
        if not state.alive(generation):
            return
        try:
            spec = goish.parse_spec(args.text)
        except goish.GoError as exc:
            # The goroutine returns here: the job stays Running for ever (contract section 2.4).
            job.add_state(f"create Cluster error, {exc}")
            return
        cluster = state.new_cluster(args, spec)
        cluster.set_status(CL_CREATING)
        job.cluster_id = cluster.uuid
        job.add_state("create Cluster in DB Success")
    name, namespace = args.name, args.namespace

    if args.cover:
        with state.lock:
            if not state.alive(generation):
                return
            with contextlib.suppress(HelmError):
                state.helm_uninstall(name, namespace)
            job.add_state("overwrite current installation")

    try:
        package = state.resolve_chart(args.chart_name, args.chart_version)
        with state.lock:
            if (namespace, name) in state.releases:
                raise HelmError("cannot re-use a name that is still in use")
        objects = state.render(package, spec, name, namespace)
        with state.lock:
            if not state.alive(generation):
                return
            state.helm_install(name, namespace, package, spec, objects)
    except HelmError as exc:
        with state.lock:
            if not state.alive(generation):
                return
            job.add_state(f"helm install error, {exc}")
            job.set_status(JOB_FAILED)
            _clean(state, cluster, name, namespace)
        return

    with state.lock:
        if not state.alive(generation):
            return
        job.add_state("helm install Success")

    rounds = 0
    while True:
        time.sleep(POLL)
        with state.lock:
            if not state.alive(generation):
                return
            job = state.job_by_uuid(job_uuid)
            if job is None:  # job row deleted: the goroutine returns, leaving everything in place
                return
            rounds += 1
            if job.status == JOB_STOPPING:
                _clean(state, cluster, name, namespace)
                job.add_state("job stopped")
                job.set_status(JOB_CANCELED)
                return
            if state.cluster_by_uuid(cluster.uuid) is None:
                _clean(state, cluster, name, namespace)
                job.add_state("Cluster delete")
                job.set_status(JOB_FAILED)
                return
            if job.timed_out(time.time()):
                job.add_state("checkout Cluster status timeOut!")
                job.set_status(JOB_FAILED)
                _clean(state, cluster, name, namespace)
                return
            done = _sub_jobs(state, job, namespace, name)
            job.set_last_state(f"{CHECKOUT}{rounds}]", CHECKOUT)
            if done:
                job.add_state("job run Success")
                job.end_time = time.time()
                job.set_status(JOB_SUCCESS)
                cluster.revision = 1
                cluster.set_status(CL_RUNNING)
                return


# ------------------------------------------------------------------------------------------ update


def _upgrade_manager(state: State, job: Job, generation: int, old_version: str, new_version: str) -> bool:
    """The ``fate-upgrade-manager`` step of a version upgrade. Returns False when the job failed."""
    namespace = job.meta.namespace
    spec = job.meta
    with state.lock:
        if not state.alive(generation):
            return False
        release_name, chart_version = UPGRADE_MANAGER
        if (namespace, release_name) in state.releases:
            job.add_state(f"install {release_name} error, cannot re-use a name that is still in use")
            job.end_time = time.time()
            job.set_status(JOB_FAILED)
            return False
        if not state.namespace_exists(namespace):
            job.add_state(f'install {release_name} error, create: failed to create: namespaces "{namespace}" not found')
            job.end_time = time.time()
            job.set_status(JOB_FAILED)
            return False
        mysql = (goish.parse_spec(spec.text).get("mysql") or {}) if spec.data else {}
        um_spec = {
            "username": str(mysql.get("user") or "fate"),
            "password": str(mysql.get("password") or "fate_dev"),
            "start": old_version.lstrip("v"),
            "target": new_version.lstrip("v"),
        }
        now = time.time()
        upgrade_job = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": UPGRADE_JOB, "namespace": namespace},
            "spec": {"template": {"spec": {"containers": [{"name": "mysql-upgrade"}], "restartPolicy": "Never"}}},
        }
        finish = now + max(state.options.job_seconds / 2, POLL)
        release = Release(name=release_name, namespace=namespace)
        release.history.append(
            Revision(
                number=1,
                chart_name=release_name,
                chart_version=chart_version,
                spec=um_spec,
                objects=[upgrade_job],
                workloads={UPGRADE_JOB: Workload("Job", UPGRADE_JOB, "", 1, ["mysql-upgrade"], [], finish, "")},
                deployed_at=now,
            )
        )
        state.releases[(namespace, release_name)] = release
        job.add_state(f"install {release_name} Success, upgrading mysql from {um_spec['start']} to {um_spec['target']}")
        deadline = now + min(600.0, state.options.time_limit)
    while True:
        time.sleep(POLL)
        with state.lock:
            if not state.alive(generation):
                return False
            failing = UPGRADE_JOB in state.options.fail_modules or release_name in state.options.fail_modules
            current = state.releases.get((namespace, release_name))
            finished = current is not None and not failing and time.time() >= finish
            if finished or time.time() > deadline:
                if not job.meta.keep_upgrade_job:
                    state.releases.pop((namespace, release_name), None)
                if not finished:
                    job.add_state(f"abort upgrade, the {UPGRADE_JOB} job did not succeed in time")
                    job.end_time = time.time()
                    job.set_status(JOB_FAILED)
                    return False
                job.add_state(f"{UPGRADE_JOB} Success")
                return True


def run_update(state: State, job_uuid: str, generation: int) -> None:
    job = _begin(state, job_uuid, generation)
    if job is None:
        return
    args = job.meta
    with state.lock:
        cluster = state.cluster_by_uuid(job.cluster_id)
        if cluster is None:
            return
        old_values, old_spec = cluster.values, cluster.spec
        spec = goish.parse_spec(args.text)
        old_version = str(old_spec.get("chartVersion", ""))
        new_version = str(spec.get("chartVersion", ""))
        needs_manager = cluster.chart_name == "fate" and old_version != new_version

    if needs_manager and not _upgrade_manager(state, job, generation, old_version, new_version):
        return

    with state.lock:
        if not state.alive(generation):
            return
        cluster.set_status(CL_UPDATING)
        cluster.values, cluster.spec = args.text, spec
        cluster.chart_name, cluster.chart_version = args.chart_name, args.chart_version
        cluster.helm_revision += 1

    try:
        package = state.resolve_chart(args.chart_name, args.chart_version)
        objects = state.render(package, spec, cluster.name, cluster.namespace)
        with state.lock:
            if not state.alive(generation):
                return
            state.helm_upgrade(cluster.name, cluster.namespace, package, spec, objects)
    except HelmError as exc:
        with state.lock:
            if not state.alive(generation):
                return
            job.add_state(f"helm upgrade error, {exc}")
            job.end_time = time.time()
            job.set_status(JOB_FAILED)
        return

    with state.lock:
        if not state.alive(generation):
            return
        job.add_state("helm upgrade Success")

    rounds = 0
    while True:
        time.sleep(POLL)
        with state.lock:
            if not state.alive(generation):
                return
            job = state.job_by_uuid(job_uuid)
            if job is None or state.cluster_by_uuid(cluster.uuid) is None:
                # The real loop spins (``continue`` without sleeping) and never ends the job.
                return
            rounds += 1
            if job.timed_out(time.time()):
                job.add_state("Checkout Cluster status timeOut!")
                job.set_status(JOB_FAILED)
                cluster.values, cluster.spec = old_values, old_spec
                cluster.set_status(CL_ROLLBACK)
                try:
                    state.helm_rollback(cluster.name, cluster.namespace, cluster.helm_revision - 1)
                except HelmError as exc:
                    job.add_state(f"helm rollback error, {exc}")
                else:
                    cluster.helm_revision -= 1
                    job.add_state("Cluster run rollback Success")
                    job.set_status(JOB_ROLLBACK)
                job.end_time = time.time()
                job.touch()
                return
            done = _sub_jobs(state, job, cluster.namespace, cluster.name)
            job.set_last_state(f"{CHECKOUT}{rounds}]", CHECKOUT)
            if done:
                job.add_state("Cluster update Success")
                job.end_time = time.time()
                job.set_status(JOB_SUCCESS)
                cluster.revision += 1
                cluster.set_status(CL_RUNNING)
                return


# ------------------------------------------------------------------------------------------ delete


def run_delete(state: State, job_uuid: str, generation: int) -> None:
    job = _begin(state, job_uuid, generation)
    if job is None:
        return
    with state.lock:
        cluster = state.cluster_by_uuid(job.cluster_id, unscoped=True)
        if cluster is None:
            return
        cluster.set_status(CL_DELETING)
        delay = min(0.5, state.options.job_seconds / 4)
    time.sleep(delay)
    with state.lock:
        if not state.alive(generation):
            return
        try:
            state.helm_uninstall(cluster.name, cluster.namespace)
        except HelmError as exc:
            job.add_state(str(exc))
            job.set_status(JOB_FAILED)
        else:
            job.add_state("uninstall Success")
            job.set_status(JOB_SUCCESS)
        cluster.set_status(CL_DELETED)
        if cluster.deleted_at is None:
            cluster.deleted_at = time.time()
        job.end_time = time.time()
        job.touch()
