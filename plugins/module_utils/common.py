# Copyright: fateops.kubefate contributors
# SPDX-License-Identifier: Apache-2.0 OR GPL-3.0-or-later
# Apache License 2.0 (see LICENSE), or at your option the GNU General Public License v3.0+ (see COPYING)
"""What every module of the collection shares: connection options, the wait loop and result shapes."""

import copy
import time
from datetime import datetime

from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible_collections.fateops.kubefate.plugins.module_utils.kubefate import (
    ACTIVE_JOB_STATUSES,
    TERMINAL_JOB_STATUSES,
    ZERO_TIME,
    KubefateClient,
    KubefateError,
)

#: Connection options of every module (documented once in the ``fateops.kubefate.connection`` fragment).
CONNECTION_ARG_SPEC = dict(
    url=dict(type="str", required=True, fallback=(env_fallback, ["KUBEFATE_URL"])),
    username=dict(type="str", default="admin", fallback=(env_fallback, ["KUBEFATE_USERNAME"])),
    password=dict(type="str", required=True, no_log=True, fallback=(env_fallback, ["KUBEFATE_PASSWORD"])),
    host_header=dict(type="str", fallback=(env_fallback, ["KUBEFATE_HOST_HEADER"])),
    validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["KUBEFATE_VALIDATE_CERTS"])),
    ca_path=dict(type="path", fallback=(env_fallback, ["KUBEFATE_CA_PATH"])),
    request_timeout=dict(type="int", default=30, fallback=(env_fallback, ["KUBEFATE_REQUEST_TIMEOUT"])),
    retry_timeout=dict(type="int", default=60, fallback=(env_fallback, ["KUBEFATE_RETRY_TIMEOUT"])),
)

#: Wait options (documented in the ``fateops.kubefate.wait`` fragment).
WAIT_ARG_SPEC = dict(
    wait=dict(type="bool", default=False),
    wait_timeout=dict(type="int", default=4200),
    wait_sleep=dict(type="int", default=5),
)

#: A running job whose record has not moved for this long (or for half the wait, if shorter) is no longer
#: being worked on: KubeFATE rewrites an install job's state every second and an update job's every 5 s.
STALE_JOB_SECONDS = 60


def argument_spec(*extra, wait=False):
    spec = copy.deepcopy(CONNECTION_ARG_SPEC)
    if wait:
        spec.update(copy.deepcopy(WAIT_ARG_SPEC))
    for item in extra:
        spec.update(item)
    return spec


class KubefateModule(AnsibleModule):
    """An AnsibleModule with a lazily built KubeFATE client and failures that read as one line."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("supports_check_mode", True)
        super().__init__(*args, **kwargs)
        self._client = None

    @property
    def client(self):
        if self._client is None:
            p = self.params
            try:
                self._client = KubefateClient(
                    p["url"],
                    p["username"],
                    p["password"],
                    host_header=p["host_header"],
                    validate_certs=p["validate_certs"],
                    ca_path=p["ca_path"],
                    timeout=p["request_timeout"],
                    retry_timeout=p["retry_timeout"],
                )
            except KubefateError as exc:
                self.fail_json(msg=str(exc))
        return self._client

    def api_calls(self):
        """How many KubeFATE requests this run made (``api_calls`` in results)."""
        return len(self._client.calls) if self._client else 0


# ---------------------------------------------------------------------- jobs
class JobError(Exception):
    """A job that ended badly or did not end in time; ``job`` is its last known record, ``seconds`` the wait."""

    def __init__(self, message, job=None, seconds=None):
        super().__init__(message)
        self.job = job
        self.seconds = seconds


class AbandonedJob(JobError):
    """A job whose record stopped changing while it is still active: KubeFATE no longer works on it."""


def sub_job_table(job):
    """The sub-jobs of a job as a list sorted by module name, with seconds to become Available."""
    rows = []
    for name, sub in sorted(((job or {}).get("sub_jobs") or {}).items()):
        row = {
            "module": sub.get("ModuleName") or name,
            "status": sub.get("Status"),
            "module_status": sub.get("ModulesStatus"),
        }
        seconds = _seconds_between(sub.get("StartTime"), sub.get("EndTime"))
        if seconds is not None:
            row["seconds"] = seconds
        rows.append(row)
    return rows


def not_available(job):
    return [row for row in sub_job_table(job) if row["module_status"] != "Available"]


def last_state(job):
    states = (job or {}).get("states") or []
    return states[-1] if states else ""


def compact_job(job):
    """A job without its (large, secret-bearing) base64 ``meta_data.data``."""
    if not job:
        return job
    out = {k: v for k, v in job.items() if k != "meta_data"}
    meta = job.get("meta_data") or {}
    out["meta_data"] = {k: v for k, v in meta.items() if k != "data"}
    return out


def job_cluster_name(job):
    meta = (job or {}).get("meta_data") or {}
    return meta.get("name") or job.get("cluster_id") or "?"


def pod_detail(client, cluster_id):
    """``container=phase`` for every container that is not Running, from the cluster's live ``Info``."""
    if not cluster_id:
        return ""
    try:
        cluster = client.get_cluster(cluster_id)
    except KubefateError:
        return ""
    info = (cluster or {}).get("Info") or {}
    containers = (info.get("status") or {}).get("containers") or {}
    bad = sorted(f"{name}={phase}" for name, phase in containers.items() if phase != "Running")
    return ", ".join(bad)


def describe_failure(client, job, reason):
    """One line: the job, why it stopped, the sub-jobs that never became Available, the last state, the pods."""
    name = job_cluster_name(job)
    parts = [f"cluster {name}: job {job.get('uuid')} ({job.get('method')}) {reason}"]
    missing = not_available(job)
    if missing:
        parts.append("not Available: " + ", ".join(f"{r['module']} ({r['module_status']})" for r in missing))
    state = last_state(job)
    if state:
        parts.append(f"last state: {state!r}")
    pods = pod_detail(client, job.get("cluster_id"))
    if pods:
        parts.append(f"pods: {pods}")
    return "; ".join(parts)


def stale_after(timeout):
    """Seconds without any change after which an active job counts as abandoned.

    KubeFATE rewrites a running job's record at every poll of its workloads (each second for an install, every
    five for an update), so a record that stays the same this long belongs to a job nobody works on.
    """
    return min(STALE_JOB_SECONDS, timeout / 2)


def wait_job(client, uuid, timeout, sleep, clock=time.monotonic, pause=time.sleep, job=None, abandon=False):
    """Poll a job until it is terminal; return it when ``Success``, raise ``JobError`` otherwise.

    The deadline is the client's own: KubeFATE jobs can stay ``Running`` forever (server restarted,
    job row deleted). A job whose record did not change for ``stale_after(timeout)`` is reported as one
    that will never finish; with ``abandon`` an ``AbandonedJob`` is raised as soon as that is seen, so that
    the caller can take the cluster over instead of waiting for the deadline.
    """
    start = clock()
    deadline = start + timeout
    last_change = (None, start)
    while True:
        if job is None or job.get("status") not in TERMINAL_JOB_STATUSES:
            job = client.get_job(uuid)
        status = job.get("status")
        marker = (job.get("UpdatedAt"), tuple(job.get("states") or ()), status)
        if marker != last_change[0]:
            last_change = (marker, clock())
        if status in TERMINAL_JOB_STATUSES:
            if status == "Success":
                return job
            reason = {
                "Rollback": "failed and KubeFATE rolled the cluster back to its previous configuration",
                "Canceled": "was stopped and its release uninstalled",
            }.get(status, f"ended {status}")
            raise JobError(describe_failure(client, job, reason), job=job)
        now = clock()
        if abandon and now - last_change[1] >= stale_after(timeout):
            raise AbandonedJob(
                f"job {job.get('uuid')} ({job.get('method')}) is still {status} but has not changed for "
                f"{int(now - last_change[1])}s: KubeFATE abandoned it (the server restarted?)",
                job=job,
            )
        if now >= deadline:
            idle = now - last_change[1]
            if idle >= stale_after(timeout):
                reason = (
                    f"is still {status} but has not changed for {int(idle)}s: KubeFATE is no longer working on "
                    "it (the server restarted?) and it will never finish; re-run: the cluster module then "
                    "takes the cluster over from the abandoned job (check it first with fateops.kubefate.cluster_info)"
                )
            else:
                reason = f"still {status} after {int(now - start)}s (wait_timeout {timeout}s)"
            raise JobError(describe_failure(client, job, reason), job=job)
        pause(max(0.0, min(sleep, deadline - now)))


def timed_wait(client, job, timeout, sleep, abandon=False):
    """``wait_job`` from a job record, returning (finished job, seconds waited); a ``JobError`` carries the seconds."""
    start = time.monotonic()
    try:
        job = wait_job(client, job["uuid"], timeout, sleep, job=job, abandon=abandon)
    except JobError as exc:
        exc.seconds = round(time.monotonic() - start, 1)
        raise
    return job, round(time.monotonic() - start, 1)


def job_seconds(job):
    """Seconds from start to end of a finished job (None while running or when KubeFATE kept no end time)."""
    return _seconds_between((job or {}).get("start_time"), (job or {}).get("end_time"))


def active_jobs_for(jobs, name, namespace, cluster_uuid=None):
    """Jobs still in flight for this cluster: installs/updates by name + namespace, deletes by cluster UUID."""
    found = []
    for job in jobs:
        if job.get("status") not in ACTIVE_JOB_STATUSES:
            continue
        meta = job.get("meta_data") or {}
        same_name = meta.get("name") == name and meta.get("namespace") == namespace
        same_uuid = cluster_uuid and job.get("cluster_id") == cluster_uuid
        if same_name or same_uuid:
            found.append(job)
    return sorted(found, key=lambda j: j.get("start_time") or "")


def _seconds_between(start, end):
    if not start or not end or ZERO_TIME in (start, end):
        return None
    try:
        return round(_epoch(end) - _epoch(start), 1)
    except ValueError:
        return None


def _epoch(stamp):
    text = stamp.replace("Z", "+00:00")
    if "." in text:  # Go prints up to 9 fractional digits; Python parses at most 6
        head, dot, tail = text.partition(".")
        del dot
        digits = "".join(ch for ch in tail if ch.isdigit())
        zone = tail[len(digits) :]
        text = f"{head}.{digits[:6]}{zone}"
    return datetime.fromisoformat(text).timestamp()
