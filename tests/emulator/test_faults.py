"""Fault injection: failing modules, stuck jobs, restarts, transient HTTP errors, latency, late start,
render failures, update rollback, stop, cover and the destructive clean-up of a pre-existing release."""

from __future__ import annotations

import socket
import threading
import time

import yaml
from emu_helpers import exchange_yaml, fate_yaml, install_ok, run_emulator, unique
from kubefate_emulator.testing import free_port


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def releases(emulator) -> set[str]:
    return {f"{r['namespace']}/{r['name']}" for r in emulator.state()["releases"]}


def all_clusters(emulator) -> list[dict]:
    return emulator.api("GET", "/v1/cluster/?all=true")[1]["data"]


def test_fail_module_times_out_and_tears_down(start, shared):
    emulator = start(fail_module=["python"], time_limit=2)
    name = unique("failmod")
    _status, body = emulator.install(fate_yaml(name))
    job_id = body["data"]["uuid"]
    cluster_id = emulator.wait_cluster_id(job_id)
    wait_for(lambda: (emulator.job(job_id)["sub_jobs"] or {}).get("mysql", {}).get("Status") == "Success")
    cluster = emulator.api("GET", f"/v1/cluster/{cluster_id}")[1]["data"]
    assert cluster["status"] == "Creating"
    assert cluster["Info"]["status"]["statefulSets"]["python"] == "Progressing"
    assert cluster["Info"]["status"]["statefulSets"]["mysql"] == "Available"
    assert cluster["Info"]["status"]["containers"]["fateflow"] == "Pending"
    job = emulator.job(job_id)
    assert job["status"] == "Running"
    assert job["sub_jobs"]["python"] | {"StartTime": None} == {
        "ModuleName": "python",
        "Status": "Running",
        "ModulesStatus": "Progressing",
        "StartTime": None,
        "EndTime": "0001-01-01T00:00:00Z",
    }
    assert job["sub_jobs"]["mysql"]["Status"] == "Success"

    job = emulator.wait_job(job_id)
    assert job["status"] == "Failed"
    assert job["states"][-2].startswith("checkout Cluster status [")
    assert job["states"][-1] == "checkout Cluster status timeOut!"
    assert job["end_time"] == "0001-01-01T00:00:00Z"
    assert f"{name}/{name}" not in releases(emulator)
    assert emulator.api("GET", f"/v1/cluster/{cluster_id}") == (500, {"error": "record not found"})
    deleted = next(c for c in all_clusters(emulator) if c["uuid"] == cluster_id)
    assert deleted["status"] == "Deleted" and deleted["DeletedAt"] is not None


def test_stuck_jobs_never_progress(start, shared):
    emulator = start(time_limit=2, job_seconds=0.3)
    name = unique("stuck")
    _job, cluster_id = install_ok(emulator, exchange_yaml(name))
    # describe re-evaluates Running/Unavailable from the Deployments
    emulator.faults(fail_modules=["rollsite"])
    cluster = emulator.api("GET", f"/v1/cluster/{cluster_id}")[1]["data"]
    assert cluster["status"] == "Unavailable" and cluster["Info"]["status"]["deployments"] == {
        "rollsite": "Progressing"
    }
    emulator.faults(fail_modules=[])
    assert emulator.api("GET", f"/v1/cluster/{cluster_id}")[1]["data"]["status"] == "Running"
    emulator.faults(stuck=True)
    delete = emulator.api("DELETE", f"/v1/cluster/{cluster_id}")[1]["data"]
    update = emulator.update(exchange_yaml(name))[1]["data"]
    time.sleep(2.2)  # past the time limit
    for job_id in (delete["uuid"], update["uuid"]):
        job = emulator.job(job_id)
        assert job["status"] == "Running" and job["states"] == ["update job status to Running"]
    assert emulator.api("GET", f"/v1/cluster/{cluster_id}")[1]["data"]["status"] == "Running"
    assert f"{name}/{name}" in releases(emulator)


def test_restart_kills_tokens_and_orphans_running_jobs(start, shared):
    emulator = start(job_seconds=30, time_limit=60, restart_downtime=0.8)
    token = emulator.login()
    name = unique("restart")
    status, body = emulator.install(exchange_yaml(name))
    assert status == 200
    job_id = body["data"]["uuid"]
    cluster_id = emulator.wait_cluster_id(job_id)
    wait_for(lambda: emulator.job(job_id)["states"][-1].startswith("checkout Cluster status ["))
    emulator.faults(restart_after=0.2)  # as --restart-after, scheduled from now
    wait_for(lambda: emulator.state()["restarts"] == 1)
    status, _headers, raw = emulator.request("GET", "/")  # the pod is not ready yet: the ingress answers
    assert status == 503 and b"503 Service Temporarily Unavailable" in raw
    time.sleep(0.9)
    status, body = emulator.api("GET", f"/v1/job/{job_id}", token=token)
    assert (status, body) == (401, {"code": 401, "message": "signature is invalid"})
    emulator.faults(job_seconds=0.1)  # even a fast cluster cannot help a job nobody watches any more
    time.sleep(0.5)
    job = emulator.job(job_id)  # logs in again
    assert job["status"] == "Running"
    assert job["states"][-1].startswith("checkout Cluster status [")
    assert emulator.api("GET", f"/v1/cluster/{cluster_id}")[1]["data"]["status"] == "Creating"
    assert f"{name}/{name}" in releases(emulator)
    # the job cannot be stopped to any effect either: it goes Stopping and stays there
    assert emulator.api("PUT", f"/v1/job/{job_id}?jobStatus=stop")[0] == 200
    time.sleep(0.4)
    assert emulator.job(job_id)["status"] == "Stopping"


def test_ephemeral_restart_then_cover_overwrites(start, shared):
    emulator = start(time_limit=5, ephemeral_db=True)
    name = unique("cover")
    install_ok(emulator, exchange_yaml(name))
    emulator.restart()  # --ephemeral-db: records gone, release kept
    assert emulator.api("GET", "/v1/cluster/")[1]["data"] == []
    assert f"{name}/{name}" in releases(emulator)
    job, _cluster_id = install_ok(emulator, exchange_yaml(name), cover=True)
    assert job["states"][:4] == [
        "update job status to Running",
        "create Cluster in DB Success",
        "overwrite current installation",
        "helm install Success",
    ]
    assert f"{name}/{name}" in releases(emulator)
    release = next(r for r in emulator.state()["releases"] if r["name"] == name)
    assert release["revision"] == 1  # a fresh install, not an upgrade


def test_pre_existing_release_is_destroyed_without_cover(start, shared):
    emulator = start(time_limit=5)
    name = unique("preexist")
    emulator.inject_release(name, name, chart_name="fate-exchange", chart_version="v1.11.2")
    assert f"{name}/{name}" in releases(emulator)
    _status, body = emulator.install(exchange_yaml(name))
    job = emulator.wait_job(body["data"]["uuid"])
    assert job["status"] == "Failed"
    assert job["states"][-1] == "helm install error, cannot re-use a name that is still in use"
    assert f"{name}/{name}" not in releases(emulator)  # clean() uninstalled somebody else's release


def test_transient_http_errors_are_seeded(start):
    emulator = start(http_error_rate=0.5, http_error_codes=[502, 503], seed=7)

    def sequence() -> list[int]:
        return [emulator.request("GET", "/v1/version/")[0] for attempt in range(30)]

    first = sequence()
    assert set(first) == {401, 502, 503}  # the survivors reach the API (no token: 401)
    emulator.faults(seed=7)
    assert sequence() == first
    _status, headers, body = next(
        r for r in (emulator.request("GET", "/v1/version/") for attempt in range(50)) if r[0] in (502, 503)
    )
    assert headers["Content-Type"] == "text/html" and b"<center>nginx</center>" in body
    # "/" and the control API are never affected
    assert all(emulator.request("GET", "/")[0] == 200 for attempt in range(20))
    assert all(emulator.request("GET", "/_emulator/faults")[0] == 200 for attempt in range(20))
    recorded = [r for r in emulator.requests() if r["fault"]]
    assert recorded and all(r["status"] in (502, 503) for r in recorded)


def test_http_error_after_processing_loses_the_answer(start, shared):
    emulator = start(time_limit=5)
    token = emulator.login()
    emulator.faults(http_error_rate=1.0, http_error_codes=[504], http_error_after=True)
    name = unique("lost")
    status, body = emulator.api("POST", "/v1/cluster", emulator.cluster_args(exchange_yaml(name)), token=token)
    assert status == 504 and "Gateway Time-out" in body
    emulator.faults(http_error_rate=0.0)
    jobs = emulator.api("GET", "/v1/job/", token=token)[1]["data"]
    assert [j["meta_data"]["name"] for j in jobs] == [name]  # the install happened anyway
    assert emulator.writes()[0]["status"] == 504


def test_latency(start):
    emulator = start(latency=0.4)
    began = time.monotonic()
    assert emulator.request("GET", "/v1/version/")[0] == 401
    assert time.monotonic() - began >= 0.4
    began = time.monotonic()
    emulator.faults()
    assert time.monotonic() - began < 0.3


def test_start_delay_binds_late():
    port = free_port()
    ready = threading.Event()
    done = threading.Event()
    began = time.monotonic()
    result = {}

    def run() -> None:
        with run_emulator(port=port, start_delay=1.2, quiet=True) as emulator:
            result["elapsed"] = time.monotonic() - began
            result["status"] = emulator.request("GET", "/")[0]
            ready.set()
            done.wait(10)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(0.5)
    refused = False
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        refused = True
    assert refused
    assert ready.wait(30)
    done.set()
    thread.join(10)
    assert result["status"] == 200 and result["elapsed"] >= 1.2


def test_render_failure_fails_the_job(emu, shared):
    name = unique("render")
    status, body = emu.install(fate_yaml(name, modules="rollsite"))  # a string where the chart wants a list
    assert status == 200
    job = emu.wait_job(body["data"]["uuid"])
    assert job["status"] == "Failed"
    assert job["states"][-1].startswith("helm install error, ")
    assert "error calling has: Cannot find has on type string" in job["states"][-1]
    assert f"{name}/{name}" not in releases(emu)
    assert next(c for c in all_clusters(emu) if c["uuid"] == job["cluster_id"])["status"] == "Deleted"


def test_invalid_objects_fail_the_job(emu, shared):
    """podSecurityPolicy renders policy/v1beta1 PodSecurityPolicy, removed in Kubernetes 1.25."""
    name = unique("psp")
    _status, body = emu.install(fate_yaml(name, podSecurityPolicy={"enabled": True}))
    job = emu.wait_job(body["data"]["uuid"])
    assert job["status"] == "Failed"
    assert "unable to build kubernetes objects from release manifest" in job["states"][-1]
    assert "PodSecurityPolicy" in job["states"][-1]


def test_bad_yaml_leaves_the_job_running(emu):
    status, body = emu.install("name: x\nchartName: fate\nchartVersion: v1.11.2\n", data="LSBhCi0gYgo=")  # "- a\n- b"
    assert status == 200
    job = emu.wait_job(body["data"]["uuid"], until=("Running",))
    time.sleep(0.3)
    job = emu.job(body["data"]["uuid"])
    assert job["status"] == "Running" and job["cluster_id"] == ""
    assert job["states"][-1].startswith("create Cluster error, error unmarshaling JSON")


def test_update_rollback(start, shared):
    emulator = start(time_limit=3)
    name = unique("rollback")
    text = fate_yaml(name)
    _job, cluster_id = install_ok(emulator, text)
    emulator.faults(fail_modules=["python"])
    spec = yaml.safe_load(text)
    spec["python"] = {"logLevel": "DEBUG"}
    status, body = emulator.update(yaml.safe_dump(spec))
    assert status == 200
    updating = emulator.wait_job(body["data"]["uuid"], until=("Running",))
    time.sleep(0.3)
    cluster = emulator.api("GET", f"/v1/cluster/{cluster_id}")[1]["data"]
    assert cluster["status"] == "Updating" and cluster["helm_revision"] == 1
    assert cluster["Spec"]["python"] == {"logLevel": "DEBUG"}
    job = emulator.wait_job(updating["uuid"], timeout=10)
    assert job["status"] == "Rollback"
    assert job["states"][-2:] == ["Checkout Cluster status timeOut!", "Cluster run rollback Success"]
    assert job["end_time"] != "0001-01-01T00:00:00Z"
    cluster = emulator.api("GET", f"/v1/cluster/{cluster_id}")[1]["data"]
    assert cluster["status"] == "Rollback"  # sticky: describe only refreshes Running/Unavailable
    assert (cluster["revision"], cluster["helm_revision"]) == (1, 0)
    assert "python" not in cluster["Spec"] and cluster["values"] == text
    release = next(r for r in emulator.state()["releases"] if r["name"] == name)
    assert release["revision"] == 3 and release["description"] == "Rollback to 1"


def test_version_upgrade_runs_the_upgrade_manager(start, shared):
    emulator = start(time_limit=10)
    name = unique("upgrade")
    old = fate_yaml(name, chartVersion="v1.9.1", modules=["rollsite", "mysql", "python"])
    _job, cluster_id = install_ok(emulator, old)
    new = fate_yaml(name, modules=["rollsite", "mysql", "python"])
    assert emulator.update(old) == (500, {"error": "the configuration file did not change"})
    status, body = emulator.update(new, keep_upgrade_job=True)
    assert status == 200
    job = emulator.wait_job(body["data"]["uuid"])
    assert job["status"] == "Success", job["states"]
    assert any("fate-upgrade-manager" in s and "1.9.1 to 1.11.2" in s for s in job["states"])
    assert "fate-mysql-upgrade-job Success" in job["states"]
    assert f"{name}/fate-upgrade-manager" in releases(emulator)  # Keep_upgrade_job
    cluster = emulator.api("GET", f"/v1/cluster/{cluster_id}")[1]["data"]
    assert (cluster["chart_version"], cluster["revision"], cluster["status"]) == ("v1.11.2", 2, "Running")
    # a kept upgrade-manager release makes the next version upgrade fail
    newer = fate_yaml(name, chartVersion="v2.0.0", modules=["osx", "mysql", "python"])
    status, body = emulator.update(newer)
    job = emulator.wait_job(body["data"]["uuid"])
    assert job["status"] == "Failed"
    assert job["states"][-1].endswith("cannot re-use a name that is still in use")


def test_deleted_job_row_orphans_the_install(start, shared):
    emulator = start(job_seconds=30, time_limit=60)
    name = unique("orphan")
    _status, body = emulator.install(exchange_yaml(name))
    job_id = body["data"]["uuid"]
    cluster_id = emulator.wait_cluster_id(job_id)
    time.sleep(0.3)
    assert emulator.api("DELETE", f"/v1/job/{job_id}") == (200, {"msg": "delete Job Success"})
    assert emulator.api("GET", f"/v1/job/{job_id}") == (500, {"error": "record not found"})
    emulator.faults(job_seconds=0.1)
    time.sleep(0.5)
    assert emulator.api("GET", f"/v1/cluster/{cluster_id}")[1]["data"]["status"] == "Creating"
    assert f"{name}/{name}" in releases(emulator)


def test_delete_during_install(start, shared):
    emulator = start(job_seconds=30, time_limit=60)
    name = unique("delrace")
    _status, body = emulator.install(exchange_yaml(name))
    job_id = body["data"]["uuid"]
    cluster_id = emulator.wait_cluster_id(job_id)
    delete = emulator.api("DELETE", f"/v1/cluster/{cluster_id}")[1]["data"]
    assert emulator.wait_job(delete["uuid"])["status"] in ("Success", "Failed")
    job = emulator.wait_job(job_id)
    assert job["status"] == "Failed" and job["states"][-1] == "Cluster delete"
    assert f"{name}/{name}" not in releases(emulator)


def test_module_spread_orders_sub_jobs(start, shared):
    emulator = start(job_seconds=1.4, module_spread=1.0, time_limit=10)
    job, _cluster_id = install_ok(emulator, fate_yaml())
    render_order = ["clustermanager", "nodemanager", "rollsite", "client", "fateboard", "mysql", "python"]
    assert set(job["sub_jobs"]) == set(render_order)
    ends = [job["sub_jobs"][m]["EndTime"] for m in render_order]
    assert ends == sorted(ends) and ends[0] < ends[-1]


def test_missing_charts_directory(tmp_path):
    with run_emulator(charts_dir=str(tmp_path / "nowhere"), quiet=True, time_limit=5) as emulator:
        _status, body = emulator.install(
            "name: a\nnamespace: a\nchartName: fate\nchartVersion: v1.11.2\n", data="bmFtZTogYQo="
        )
        job = emulator.wait_job(body["data"]["uuid"])
        assert job["status"] == "Failed"
        assert 'failed to download "kubefate/fate" at version "v1.11.2"' in job["states"][-1]
        assert emulator.state()["repository"] == {"dir": None, "charts": []}
        assert "reference KubeFATE charts are not available" in emulator.log_tail()


def test_update_render_failure(emu, shared):
    name = unique("badupd")
    _job, cluster_id = install_ok(emu, fate_yaml(name))
    status, body = emu.update(fate_yaml(name, modules="rollsite"))
    assert status == 200
    job = emu.wait_job(body["data"]["uuid"])
    assert job["status"] == "Failed" and job["end_time"] != "0001-01-01T00:00:00Z"
    assert (
        job["states"][-1].startswith("helm upgrade error, ") and "Cannot find has on type string" in job["states"][-1]
    )
    cluster = emu.api("GET", f"/v1/cluster/{cluster_id}")[1]["data"]
    assert cluster["status"] == "Updating" and cluster["helm_revision"] == 1 and cluster["revision"] == 1
