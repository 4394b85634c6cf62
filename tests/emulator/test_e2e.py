"""End to end: upload the FATE v2.0.0 chart, install the shipped cluster.yaml, describe, log, update, delete."""

from __future__ import annotations

import time

import yaml
from emu_helpers import CHARTS, EXAMPLES, exchange_yaml, install_ok

V2_WORKLOADS = {"clustermanager", "nodemanager", "client", "fateboard", "mysql", "osx", "python"}


def test_fate_v2_install_update_delete(emu, shared):
    # upload the chart the default repository lacks
    status, body = emu.upload_chart(CHARTS / "fate-v2.0.0.tgz")
    assert status == 200
    chart_id = body["data"]["helmUUID"]
    status, body = emu.api("GET", f"/v1/chart/{chart_id}")
    chart = body["data"]
    assert status == 200 and (chart["name"], chart["version"], chart["app_version"]) == ("fate", "v2.0.0", "v2.0.0")
    keys = {"uuid", "name", "chart", "values", "values_template", "values_template_example", "templates", "version"}
    assert keys | {"app_version", "ID", "CreatedAt", "UpdatedAt", "DeletedAt"} == set(chart)
    assert any(t["name"].startswith("templates/") for t in chart["templates"])
    upload = emu.requests(method="POST", path_prefix="/v1/chart")[-1]
    assert upload["body"] == {"file": {"file": "fate-v2.0.0.tgz", "size": (CHARTS / "fate-v2.0.0.tgz").stat().st_size}}

    text = (EXAMPLES / "v2.0.0-cluster.yaml").read_text()
    status, body = emu.install(text)
    assert status == 200
    job_id = body["data"]["uuid"]
    assert body["data"]["meta_data"]["name"] == "fate-9999"

    # while converging: sub-jobs are the chart's Deployments + StatefulSets
    running = emu.wait_job(job_id, until=("Running",))
    deadline = time.time() + 10
    while not running["sub_jobs"] and time.time() < deadline:
        time.sleep(0.05)
        running = emu.job(job_id)
    assert set(running["sub_jobs"]) == V2_WORKLOADS
    assert running["states"][:3] == [
        "update job status to Running",
        "create Cluster in DB Success",
        "helm install Success",
    ]
    assert running["states"][3].startswith("checkout Cluster status [")

    job = emu.wait_job(job_id)
    assert job["status"] == "Success", job["states"]
    assert set(job["sub_jobs"]) == V2_WORKLOADS
    assert all(sj["Status"] == "Success" and sj["ModulesStatus"] == "Available" for sj in job["sub_jobs"].values())
    assert job["states"][-1] == "job run Success" and len(job["states"]) == 5
    assert job["end_time"] != "0001-01-01T00:00:00Z"

    status, body = emu.api("GET", f"/v1/cluster/{job['cluster_id']}")
    cluster = body["data"]
    assert status == 200 and body["msg"] == "getCluster Success"
    assert (cluster["name"], cluster["namespaces"], cluster["status"]) == ("fate-9999", "fate-9999", "Running")
    assert (cluster["revision"], cluster["helm_revision"]) == (1, 0)
    assert cluster["values"] == text and cluster["Spec"]["partyId"] == 9999
    info = cluster["Info"]
    assert info["ip"] == "192.168.0.10" and "port" not in info  # no rollsite Service with osx
    assert info["status"]["deployments"] == dict.fromkeys(["clustermanager", "fateboard", "osx"], "Available")
    assert info["status"]["statefulSets"] == dict.fromkeys(["client", "mysql", "nodemanager", "python"], "Available")
    assert info["status"]["containers"]["fateflow"] == "Running" and info["status"]["containers"]["osx"] == "Running"
    assert set(info["dashboard"]) == {"fateboard.example.com", "notebook.example.com"}

    # logs: several containers → "[<pod> <container>] " prefixes; one container → none
    status, body = emu.api("GET", f"/v1/log/{cluster['uuid']}?tail=1")
    assert status == 200 and body["msg"] == "getClusterLog Success"
    lines = body["data"].splitlines()
    assert len(lines) == len(info["status"]["containers"])
    assert any(line.startswith("[python-0 fateflow] ") for line in lines)
    status, body = emu.api("GET", f"/v1/log/{cluster['uuid']}?container=fateflow&tail=2&timestamps=true")
    lines = body["data"].splitlines()
    assert len(lines) == 2 and not lines[0].startswith("[") and lines[0][:4].isdigit()
    assert emu.api("GET", f"/v1/log/{cluster['uuid']}?since=1.5")[0] == 400  # integer seconds only
    status, body = emu.api("GET", f"/v1/log/{cluster['uuid']}?container=mysql&limit-bytes=10")
    assert status == 200 and body["data"] == "[INFO] mys"
    status, body = emu.api("GET", f"/v1/log/{cluster['uuid']}?container=mysql&since-time=2999-01-01T00:00:00Z")
    assert (status, body["data"]) == (200, "")
    status, body = emu.api("GET", f"/v1/log/{cluster['uuid']}?container=mysql&previous=true")
    assert status == 500 and "previous terminated container" in body["error"]
    status, body = emu.api("GET", f"/v1/log/{cluster['uuid']}/ws")
    assert status == 501 and "not emulated" in body

    # update: a changed spec re-renders and converges; revision and helm_revision grow
    spec = yaml.safe_load(text)
    spec["python"] = {"logLevel": "DEBUG"}
    new_text = yaml.safe_dump(spec)
    status, body = emu.update(new_text)
    assert status == 200
    update = emu.wait_job(body["data"]["uuid"])
    assert update["status"] == "Success" and update["states"][-1] == "Cluster update Success"
    cluster = emu.api("GET", f"/v1/cluster/{cluster['uuid']}")[1]["data"]
    assert (cluster["revision"], cluster["helm_revision"], cluster["status"]) == (2, 1, "Running")
    assert cluster["Spec"]["python"] == {"logLevel": "DEBUG"} and cluster["values"] == new_text
    release = next(r for r in emu.state()["releases"] if r["name"] == "fate-9999")
    assert release["revision"] == 2 and release["chart"] == "fate:v2.0.0"

    # delete
    status, body = emu.api("DELETE", f"/v1/cluster/{cluster['uuid']}")
    assert emu.wait_job(body["data"]["uuid"])["status"] == "Success"
    assert not any(r["name"] == "fate-9999" for r in emu.state()["releases"])


def test_describe_reports_rollsite_node_port(emu, shared):
    _job, cluster_id = install_ok(emu, exchange_yaml())
    info = emu.api("GET", f"/v1/cluster/{cluster_id}")[1]["data"]["Info"]
    assert info["port"] == 30000  # Service "rollsite" port 9370 → nodePort
    assert info["dashboard"] is None
    assert info["status"] == {
        "containers": {"rollsite": "Running"},
        "deployments": {"rollsite": "Available"},
        "statefulSets": {},
    }


def test_request_recording(emu, shared):
    emu.clear_requests()
    assert emu.requests() == []
    name = exchange_yaml()
    job, _cluster_id = install_ok(emu, name)
    emu.api("GET", "/v1/cluster/?all=true")
    writes = emu.writes()
    assert [(w["method"], w["path"], w["status"]) for w in writes] == [("POST", "/v1/cluster", 200)]
    body = writes[0]["body"]
    assert body["name"] == job["meta_data"]["name"] and body["data"] == job["meta_data"]["data"]
    assert writes[0]["headers"]["authorization"] == "Bearer <redacted>"
    listed = emu.requests(method="GET", path_prefix="/v1/cluster/")
    assert listed[-1]["query"] == {"all": "true"}
    seqs = [r["seq"] for r in emu.requests()]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert not any(r["path"].startswith("/_emulator") for r in emu.requests())
    assert emu.requests(since=seqs[-1]) == []


def test_chart_upload_replaces_same_version(emu, shared):
    first = emu.upload_chart(CHARTS / "fate-serving-v2.1.6.tgz")[1]["data"]["helmUUID"]
    second = emu.upload_chart(CHARTS / "fate-serving-v2.1.6.tgz")[1]["data"]["helmUUID"]
    assert first != second
    listed = [c["uuid"] for c in emu.api("GET", "/v1/chart/")[1]["data"] if c["name"] == "fate-serving"]
    assert listed == [second]
    assert emu.api("GET", f"/v1/chart/{first}") == (500, {"error": "record not found"})
    status, body = emu.api("POST", "/v1/chart", {"file": "x"})
    assert (status, body) == (500, {"error": "request Content-Type isn't multipart/form-data"})
    boundary = "b0undary"
    form = f'--{boundary}\r\nContent-Disposition: form-data; name="other"\r\n\r\nx\r\n--{boundary}--\r\n'
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    assert emu.api("POST", "/v1/chart", form, headers=headers) == (500, {"error": "http: no such file"})
    junk = form.replace('name="other"', 'name="file"; filename="junk.tgz"')
    status, body = emu.api("POST", "/v1/chart", junk, headers=headers)
    assert status == 500 and "not a helm chart archive" in body["error"]
