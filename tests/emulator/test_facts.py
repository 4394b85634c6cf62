"""The 17 "facts a client implementer must not get wrong" (contract section 10), as server behaviour.

Each test is named after its fact. Facts that are client-side advice are tested as the server behaviour
that motivates them.
"""

from __future__ import annotations

import base64
import json
import time

import pytest
import yaml
from emu_helpers import CHARTS, exchange_yaml, fate_yaml, install_ok, unique

TERMINAL = ("Success", "Failed", "Rollback", "Canceled")


def releases(emulator) -> dict[str, dict]:
    return {f"{r['namespace']}/{r['name']}": r for r in emulator.state()["releases"]}


# 1 -------------------------------------------------------------------------------------------------
def test_fact_01_data_is_base64(emu, shared):
    name = unique("b64")
    text = exchange_yaml(name)
    args = emu.cluster_args(text)

    # raw YAML instead of base64 → 400 with Go's base64 error; no job is created
    before = len(emu.api("GET", "/v1/job/")[1]["data"])
    status, body = emu.api("POST", "/v1/cluster", {**args, "data": text})
    assert (status, body) == (400, {"error": "illegal base64 data at input byte 4"})
    status, body = emu.api("POST", "/v1/cluster", {**args, "data": {"name": name}})
    assert status == 400 and "cannot unmarshal object into Go struct field ClusterArgs.data" in body["error"]
    assert len(emu.api("GET", "/v1/job/")[1]["data"]) == before

    # base64 of the JSON form (what the CLI sends) is YAML too and works
    json_text = json.dumps(yaml.safe_load(text))
    job, cluster_id = install_ok(emu, text, data=base64.b64encode(json_text.encode()).decode())
    cluster = emu.api("GET", f"/v1/cluster/{cluster_id}")[1]["data"]
    assert cluster["values"] == json_text and cluster["Spec"]["name"] == name
    assert job["meta_data"]["data"] == base64.b64encode(json_text.encode()).decode()


def test_fact_01_name_inside_data_must_match(start, shared):
    """A body name that differs from the name inside data: no workload matches, the job times out."""
    emulator = start(time_limit=2)
    name = unique("mismatch")
    text = exchange_yaml(name)
    status, body = emulator.install(text, name=name + "-other")
    assert status == 200
    job = emulator.wait_job(body["data"]["uuid"], timeout=10)
    assert job["status"] == "Failed"
    assert job["states"][-1] == "checkout Cluster status timeOut!"
    assert not job["sub_jobs"]
    assert f"{name}/{name}-other" not in releases(emulator)  # clean() uninstalled it


# 2 -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "code", "location"),
    [
        ("GET", "/v1/cluster", 301, "/v1/cluster/"),
        ("GET", "/v1/cluster?all=true", 301, "/v1/cluster/?all=true"),
        ("GET", "/v1/job", 301, "/v1/job/"),
        ("GET", "/v1/chart", 301, "/v1/chart/"),
        ("GET", "/v1/user", 301, "/v1/user/"),
        ("GET", "/v1/version", 301, "/v1/version/"),
        ("GET", "/v1/namespace", 301, "/v1/namespace/"),
        ("POST", "/v1/cluster/", 307, "/v1/cluster"),
        ("PUT", "/v1/cluster/", 307, "/v1/cluster"),
        ("POST", "/v1/chart/", 307, "/v1/chart"),
        ("POST", "/v1/user/", 307, "/v1/user"),
        ("GET", "/v1/job/abc/", 301, "/v1/job/abc"),
    ],
)
def test_fact_02_exact_paths(emu, method, path, code, location):
    status, headers, _body = emu.request(method, path, {} if method != "GET" else None)
    assert status == code
    assert headers["Location"] == location
    assert emu.requests()[-1]["status"] == code


def test_fact_02_unknown_routes(emu):
    status, headers, body = emu.request("GET", "/v1/clusters/")
    assert (status, body) == (404, b"404 page not found")
    assert headers["Content-Type"].startswith("text/plain")
    assert emu.request("DELETE", "/v1/version/")[0] == 404  # no 405: HandleMethodNotAllowed is off
    status, _h, body = emu.request("GET", "/v1/")
    assert (status, json.loads(body)) == (400, {"error": "error path"})
    status, _h, body = emu.request("GET", "/")
    assert (status, json.loads(body)) == (200, {"msg": "kubefate run Success"})


# 3 -------------------------------------------------------------------------------------------------
def test_fact_03_bearer_auth(start):
    emulator = start(token_ttl=1800)
    status, body = emulator.api("GET", "/v1/cluster/", token="")
    assert (status, body) == (401, {"code": 401, "message": "cookie token is empty"})
    status, body = emulator.api("POST", "/v1/user/login", {"username": "admin", "password": "nope"}, token="")
    assert (status, body) == (401, {"code": 401, "message": "incorrect Username or Password"})
    status, body = emulator.api(
        "POST", "/v1/user/login", "not json", token="", headers={"Content-Type": "application/json"}
    )
    assert (status, body) == (401, {"code": 401, "message": "missing Username or Password"})

    status, body = emulator.api("POST", "/v1/user/login", {"username": "admin", "password": "admin"}, token="")
    assert status == 200 and body["code"] == 200 and body["expire"].endswith("Z")
    token = body["token"]
    claims = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    assert set(claims) == {"exp", "id", "orig_iat"} and claims["id"] == "admin"
    assert claims["exp"] - claims["orig_iat"] == 1800

    assert emulator.api("GET", "/v1/version/", token=token)[0] == 200
    assert emulator.request("GET", f"/v1/version/?token={token}")[0] == 200
    assert emulator.request("GET", "/v1/version/", headers={"Cookie": f"jwt={token}"})[0] == 200
    status, _h, body = emulator.request("GET", "/v1/version/", headers={"Authorization": f"Token {token}"})
    assert (status, json.loads(body)["message"]) == (401, "cookie token is empty")  # wrong scheme: not looked at
    assert emulator.api("GET", "/v1/version/", token=token + "x")[0] == 401
    assert emulator.api("POST", "/v1/user/logout", token="") == (200, {"code": 200})
    assert emulator.api("GET", "/v1/version/", token=token)[0] == 200  # logout revokes nothing

    # tokens expire (no refresh route) ...
    emulator.faults(token_ttl=0)
    short = emulator.login()
    time.sleep(0.05)
    status, body = emulator.api("GET", "/v1/version/", token=short)
    assert (status, body) == (401, {"code": 401, "message": "Token is expired"})
    assert emulator.request("POST", "/v1/user/refresh_token")[0] == 404
    # ... and die when the server restarts (new signing key); the bootstrap password is reset then too
    emulator.faults(token_ttl=1800, password="rotated")
    assert emulator.login("admin", "admin")  # the secret changed, the running server did not notice
    emulator.restart()
    assert emulator.api("GET", "/v1/version/", token=token) == (401, {"code": 401, "message": "signature is invalid"})
    status, body = emulator.api("POST", "/v1/user/login", {"username": "admin", "password": "admin"}, token="")
    assert (status, body["message"]) == (401, "incorrect Username or Password")
    assert emulator.api("GET", "/v1/version/", token=emulator.login("admin", "rotated"))[0] == 200

    # the password in the request log is never the token
    auth_headers = [r["headers"].get("authorization") for r in emulator.requests() if r["headers"].get("authorization")]
    assert auth_headers and all(h == "Bearer <redacted>" or h.endswith("<redacted>") for h in auth_headers)


def test_fact_03_login_needs_json_content_type(emu):
    """gin's ShouldBind picks the binding from Content-Type: JSON without it reads as an empty form."""
    body = json.dumps({"username": "admin", "password": "admin"})
    status, _h, raw = emu.request("POST", "/v1/user/login", body)
    assert (status, json.loads(raw)["message"]) == (401, "incorrect Username or Password")
    status, _h, raw = emu.request(
        "POST", "/v1/user/login", "username=admin&password=admin", {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 200 and json.loads(raw)["token"]
    status, body = emu.api("POST", "/v1/user/login", {"Username": "admin", "Password": "admin"}, token="")
    assert status == 200  # Go's JSON decoder matches keys case-insensitively


# 4 -------------------------------------------------------------------------------------------------
def test_fact_04_install_returns_empty_cluster_id(emu, shared):
    status, body = emu.install(exchange_yaml())
    assert status == 200 and body["msg"] == "createCluster Success"
    job = body["data"]
    assert job["status"] == "Pending" and job["cluster_id"] == "" and job["method"] == "ClusterInstall"
    assert job["states"] is None and job["sub_jobs"] is None
    cluster_id = emu.wait_cluster_id(job["uuid"])
    assert len(cluster_id) == 36
    done = emu.wait_job(job["uuid"])
    assert done["status"] == "Success" and done["cluster_id"] == cluster_id


# 5 -------------------------------------------------------------------------------------------------
def test_fact_05_job_status_strings(emu, shared):
    status, body = emu.install(exchange_yaml())
    pending = body["data"]
    assert status == 200
    assert pending["end_time"] == "0001-01-01T00:00:00Z" and pending["time_limit"] == 20 * 10**9
    seen = set()
    deadline = time.time() + 15
    while time.time() < deadline:
        job = emu.job(pending["uuid"])
        seen.add(job["status"])
        if job["status"] in TERMINAL:
            break
        time.sleep(0.05)
    assert seen <= {"Pending", "Running", "Success"} and "Success" in seen and "Running" in seen
    assert job["end_time"] != "0001-01-01T00:00:00Z"
    assert all(isinstance(sj["Status"], str) for sj in job["sub_jobs"].values())

    # a failed install keeps the zero end_time
    _status, body = emu.install(exchange_yaml(), chart_version="v9.9.9")
    failed = emu.wait_job(body["data"]["uuid"])
    assert failed["status"] == "Failed" and failed["end_time"] == "0001-01-01T00:00:00Z"


# 6 -------------------------------------------------------------------------------------------------
def test_fact_06_jobs_can_stay_running(start, shared):
    emulator = start(stuck=True, time_limit=1)
    _status, body = emulator.install(exchange_yaml())
    job_id = body["data"]["uuid"]
    time.sleep(1.6)  # past the time limit: nothing watches the job any more
    job = emulator.job(job_id)
    assert job["status"] == "Running"
    assert job["states"] == ["update job status to Running"]
    assert job["end_time"] == "0001-01-01T00:00:00Z"


# 7 -------------------------------------------------------------------------------------------------
def test_fact_07_failed_install_uninstalls_release(start, shared):
    emulator = start(time_limit=3, ephemeral_db=True)
    name = unique("keep")
    install_ok(emulator, exchange_yaml(name))
    emulator.restart(ephemeral_db=True)  # DB forgotten, release kept
    assert emulator.api("GET", "/v1/cluster/?all=true")[1]["data"] == []
    assert f"{name}/{name}" in releases(emulator)

    # same name without cover: helm refuses AND clean() uninstalls the pre-existing release
    _status, body = emulator.install(exchange_yaml(name))
    job = emulator.wait_job(body["data"]["uuid"])
    assert job["status"] == "Failed"
    assert job["states"][-1] == "helm install error, cannot re-use a name that is still in use"
    assert f"{name}/{name}" not in releases(emulator)
    cluster = emulator.api("GET", "/v1/cluster/?all=true")[1]["data"][0]
    assert cluster["status"] == "Deleted" and cluster["DeletedAt"] is not None


# 8 -------------------------------------------------------------------------------------------------
def test_fact_08_error_texts(emu, shared):
    name = unique("err")
    text = fate_yaml(name)
    _job, _cluster_id = install_ok(emu, text)
    status, body = emu.install(text, cover=True)  # cover does not bypass the check
    assert (status, body) == (500, {"error": f"name={name} & namespace={name} Cluster already existed"})
    status, body = emu.update(text)
    assert (status, body) == (500, {"error": "the configuration file did not change"})
    for path in ("/v1/cluster/nope", "/v1/job/nope"):
        assert emu.api("GET", path) == (500, {"error": "record not found"})
    assert emu.api("DELETE", "/v1/cluster/nope") == (500, {"error": "record not found"})
    assert emu.update(exchange_yaml(unique("ghost")))[0] == 500
    ghost = unique("ghost")
    assert emu.update(exchange_yaml(ghost)) == (500, {"error": f"name={ghost} Cluster is not existed"})
    assert emu.install(text, chart_version="") == (500, {"error": "chartVersion cannot be empty"})
    assert emu.install(text, chart_name="") == (500, {"error": "chartVersion cannot be empty"})
    changed = fate_yaml(name, chartName="fate-serving")
    assert emu.update(changed) == (500, {"error": "doesn't support upgrade between different charts"})
    down = fate_yaml(name, chartVersion="v1.9.1")
    assert emu.update(down, chart_version="v1.9.1") == (
        500,
        {"error": "using kubefate to downgrade a cluster is not supported yet"},
    )
    no_chart_name = fate_yaml(name, chartName=None)
    status, _h, raw = emu.request(
        "PUT",
        "/v1/cluster",
        emu.cluster_args(no_chart_name, chart_name="fate"),
        {"Authorization": f"Bearer {emu.token()}"},
    )
    assert (status, raw) == (500, b"")  # the server panics (interface conversion), gin recovers


# 9 -------------------------------------------------------------------------------------------------
def test_fact_09_update_by_name_and_namespace(emu, shared):
    name = unique("upd")
    text = exchange_yaml(name)
    _job, cluster_id = install_ok(emu, text)
    # fate-exchange uses the fallback upgrade manager: an unchanged spec still runs an update
    status, body = emu.update(text)
    assert status == 200 and body["msg"] == "setCluster Success"
    update = body["data"]
    assert update["method"] == "ClusterUpdate" and update["cluster_id"] == cluster_id
    assert emu.wait_job(update["uuid"])["status"] == "Success"
    listed = [c for c in emu.api("GET", "/v1/cluster/")[1]["data"] if c["name"] == name]
    assert len(listed) == 1 and listed[0]["namespaces"] == name and "namespace" not in listed[0]
    assert listed[0]["uuid"] == cluster_id and listed[0]["revision"] == 2 and listed[0]["helm_revision"] == 1
    # same name in another namespace is another cluster
    assert emu.update(exchange_yaml(name, namespace=name + "-b"))[1] == {"error": f"name={name} Cluster is not existed"}


# 10 ------------------------------------------------------------------------------------------------
def test_fact_10_json_field_names(emu, shared):
    job, cluster_id = install_ok(emu, exchange_yaml())
    assert list(job) == [
        "uuid",
        "start_time",
        "end_time",
        "method",
        "cluster_id",
        "creator",
        "sub_jobs",
        "status",
        "time_limit",
        "meta_data",
        "states",
        "ID",
        "CreatedAt",
        "UpdatedAt",
        "DeletedAt",
    ]
    assert set(job["meta_data"]) == {
        "name",
        "namespace",
        "chart_name",
        "chart_version",
        "cover",
        "data",
        "Keep_upgrade_job",
    }
    sub_job = job["sub_jobs"]["rollsite"]
    assert set(sub_job) == {"ModuleName", "Status", "ModulesStatus", "StartTime", "EndTime"}
    assert job["time_limit"] == 20_000_000_000 and isinstance(job["ID"], int) and job["DeletedAt"] is None
    cluster = emu.api("GET", f"/v1/cluster/{cluster_id}")[1]["data"]
    for key in ("uuid", "name", "namespaces", "chart_name", "chart_version", "values", "Spec", "revision"):
        assert key in cluster
    for key in ("helm_revision", "chart_values", "status", "Info", "ID", "CreatedAt", "UpdatedAt", "DeletedAt"):
        assert key in cluster
    assert cluster["chart_values"] is None
    listed = next(c for c in emu.api("GET", "/v1/cluster/")[1]["data"] if c["uuid"] == cluster_id)
    assert "Info" not in listed
    for camel in ("id", "createdAt", "namespace", "spec", "info", "moduleName"):
        assert camel not in cluster and camel not in job


# 11 ------------------------------------------------------------------------------------------------
def test_fact_11_only_install_jobs_stop(start, shared):
    emulator = start(job_seconds=30, time_limit=60)
    name = unique("stop")
    status, body = emulator.install(exchange_yaml(name))
    job_id = body["data"]["uuid"]
    assert emulator.api("PUT", f"/v1/job/{job_id}?jobStatus=cancel") == (400, {"error": "jobStatus error"})
    assert emulator.api("PUT", "/v1/job/nope?jobStatus=stop") == (
        500,
        {"error": "get job by jobID error, please check job ID, record not found"},
    )
    emulator.wait_job(job_id, until=("Running",))
    emulator.wait_cluster_id(job_id)
    time.sleep(0.3)  # helm install done
    assert emulator.api("PUT", f"/v1/job/{job_id}?jobStatus=stop") == (
        200,
        {"msg": "stop Job Success", "data": "Stop Job Success"},
    )
    job = emulator.wait_job(job_id)
    assert job["status"] == "Canceled" and job["states"][-1] == "job stopped"
    assert f"{name}/{name}" not in releases(emulator)
    status, body = emulator.api("PUT", f"/v1/job/{job_id}?jobStatus=stop")
    assert (status, body) == (500, {"error": "job status is Canceled, not support stop"})

    # update and delete jobs cannot be stopped
    emulator.faults(job_seconds=0.2)
    _job, cluster_id = install_ok(emulator, exchange_yaml(name))
    update = emulator.update(exchange_yaml(name))[1]["data"]
    assert emulator.api("PUT", f"/v1/job/{update['uuid']}?jobStatus=stop") == (
        500,
        {"error": "ClusterUpdate type jobs do not support stop"},
    )
    emulator.wait_job(update["uuid"])
    delete = emulator.api("DELETE", f"/v1/cluster/{cluster_id}")[1]["data"]
    assert emulator.api("PUT", f"/v1/job/{delete['uuid']}?jobStatus=stop")[1] == {
        "error": "ClusterDelete type jobs do not support stop"
    }


# 12 ------------------------------------------------------------------------------------------------
def test_fact_12_delete_leaves_namespace(emu, shared):
    name = unique("del")
    _job, cluster_id = install_ok(emu, exchange_yaml(name))
    status, body = emu.api("DELETE", f"/v1/cluster/{cluster_id}")
    assert status == 200 and body["msg"] == "deleteCluster Success"
    delete = body["data"]
    assert delete["method"] == "ClusterDelete" and delete["cluster_id"] == cluster_id
    assert delete["meta_data"]["name"] == "" and delete["meta_data"]["data"] is None
    done = emu.wait_job(delete["uuid"])
    assert done["status"] == "Success" and done["states"][-1] == "uninstall Success"
    assert done["end_time"] != "0001-01-01T00:00:00Z"
    assert f"{name}/{name}" not in releases(emu)
    assert emu.api("GET", f"/v1/cluster/{cluster_id}") == (500, {"error": "record not found"})
    assert emu.api("DELETE", f"/v1/cluster/{cluster_id}") == (500, {"error": "record not found"})
    assert all(c["uuid"] != cluster_id for c in emu.api("GET", "/v1/cluster/")[1]["data"])
    assert all(c["uuid"] != cluster_id for c in emu.api("GET", "/v1/cluster/?all=True")[1]["data"])  # exact "true"
    deleted = next(c for c in emu.api("GET", "/v1/cluster/?all=true")[1]["data"] if c["uuid"] == cluster_id)
    assert deleted["status"] == "Deleted" and deleted["DeletedAt"] is not None
    namespaces = [n["Name"] for n in emu.api("GET", "/v1/namespace/")[1]["data"]]
    assert name in namespaces  # KubeFATE does not delete the namespace
    # the same name can be installed again
    install_ok(emu, exchange_yaml(name))


# 13 ------------------------------------------------------------------------------------------------
def test_fact_13_namespace_must_exist(start, shared):
    emulator = start(strict_namespaces=True, time_limit=5)
    name = unique("ns")
    _status, body = emulator.install(exchange_yaml(name))
    job = emulator.wait_job(body["data"]["uuid"])
    assert job["status"] == "Failed"
    assert job["states"][-1] == f'helm install error, create: failed to create: namespaces "{name}" not found'
    assert name not in [n["Name"] for n in emulator.api("GET", "/v1/namespace/")[1]["data"]]
    emulator.create_namespace(name)
    install_ok(emulator, exchange_yaml(name))


# 14 ------------------------------------------------------------------------------------------------
def test_fact_14_fate_v2_chart_must_be_uploaded(start, shared):
    emulator = start(time_limit=10)
    name = unique("v2")
    text = fate_yaml(name, version="v2.0.0")
    status, body = emulator.install(text)
    job = emulator.wait_job(body["data"]["uuid"])
    assert job["status"] == "Failed"
    assert 'failed to download "kubefate/fate" at version "v2.0.0"' in job["states"][-1]
    assert emulator.api("GET", "/v1/chart/valueTemplateExample/fate/v2.0.0")[0] == 500
    emulator.faults(repo_has_all=True)  # a repository that has it (not the real default one)
    assert emulator.api("GET", "/v1/chart/valueTemplateExample/fate/v2.0.0")[0] == 200
    emulator.api("DELETE", "/v1/chart/" + emulator.api("GET", "/v1/chart/")[1]["data"][0]["uuid"])
    emulator.faults(repo_has_all=False)
    # v1.11.2 is in the default repository: valueTemplateExample downloads (and stores) it
    status, body = emulator.api("GET", "/v1/chart/valueTemplateExample/fate/v1.11.2")
    assert status == 200 and "rollsite" in body["data"] and body["msg"] == "getChartByNameVersion Success"
    assert [(c["name"], c["version"]) for c in emulator.api("GET", "/v1/chart/")[1]["data"]] == [("fate", "v1.11.2")]

    status, body = emulator.upload_chart(CHARTS / "fate-v2.0.0.tgz")
    assert status == 200 and body["msg"] == "CreateChart Success" and len(body["data"]["helmUUID"]) == 36
    job, _cluster_id = install_ok(emulator, text)
    assert "osx" in job["sub_jobs"] and "rollsite" not in job["sub_jobs"]


# 15 ------------------------------------------------------------------------------------------------
def test_fact_15_ephemeral_db_forgets_clusters(start, shared):
    emulator = start(time_limit=5)
    name = unique("eph")
    install_ok(emulator, exchange_yaml(name))
    emulator.restart(ephemeral_db=False)
    assert [c["name"] for c in emulator.api("GET", "/v1/cluster/")[1]["data"]] == [name]  # PVC-backed DB
    emulator.restart(ephemeral_db=True)
    assert emulator.api("GET", "/v1/cluster/?all=true")[1]["data"] == []
    assert emulator.api("GET", "/v1/job/")[1]["data"] == []
    assert f"{name}/{name}" in releases(emulator)  # the release keeps running


# 16 ------------------------------------------------------------------------------------------------
def test_fact_16_api_errors_and_no_wait(emu, shared):
    """Errors are non-2xx JSON ``{"error"}`` (the CLI would exit 0 on them); there is no wait option."""
    status, body = emu.api("GET", "/v1/cluster/does-not-exist")
    assert status == 500 and set(body) == {"error"}
    status, body = emu.api("POST", "/v1/cluster?wait=true", emu.cluster_args(exchange_yaml()))
    assert status == 200 and body["data"]["status"] == "Pending"
    emu.wait_job(body["data"]["uuid"])


# 17 ------------------------------------------------------------------------------------------------
def test_fact_17_one_cluster_per_namespace(emu, shared):
    namespace = unique("shared-ns")
    first = unique("first")
    _job, first_id = install_ok(emu, exchange_yaml(first, namespace=namespace))
    status, body = emu.install(exchange_yaml(unique("second"), namespace=namespace))
    assert status == 200  # KubeFATE allows it ...
    job = emu.wait_job(body["data"]["uuid"])
    assert job["status"] == "Failed"  # ... but helm refuses the fixed-name objects
    assert "rendered manifests contain a resource that already exists" in job["states"][-1]
    assert f'current value is "{first}"' in job["states"][-1]
    assert f"{namespace}/{first}" in releases(emu)
    assert emu.api("GET", f"/v1/cluster/{first_id}")[1]["data"]["status"] == "Running"

    # no server-side locking: two updates of one cluster are both accepted
    one = emu.update(exchange_yaml(first, namespace=namespace))
    two = emu.update(exchange_yaml(first, namespace=namespace))
    assert one[0] == two[0] == 200 and one[1]["data"]["uuid"] != two[1]["data"]["uuid"]
    for job in (one[1]["data"], two[1]["data"]):
        emu.wait_job(job["uuid"])
