"""The emulator serves every route of KubeFATE's published swagger (with the contract's corrections)."""

from __future__ import annotations

import json
import re

import pytest
from emu_helpers import SWAGGER, exchange_yaml, install_ok

#: Contract section 1.3: where the published swagger is wrong about paths.
CORRECTIONS = {
    ("get", "/valueTemplateExample/{chartName}/{chartVersion}"): (
        "get",
        "/chart/valueTemplateExample/{chartName}/{chartVersion}",
    ),
    ("put", "/user"): ("put", "/user/{userId}"),
}


def swagger_operations() -> list[tuple[str, str]]:
    if not SWAGGER.is_file():
        pytest.skip("the KubeFATE swagger.json is not available at ../shared/kubefate/api (read-only test data)")
    doc = json.loads(SWAGGER.read_text())
    assert doc["basePath"] == "/v1"
    operations = []
    for path, methods in doc["paths"].items():
        for method in methods:
            operations.append(CORRECTIONS.get((method, path), (method, path)))
    return sorted(set(operations))


def test_every_swagger_operation_is_routed(emu):
    operations = swagger_operations()
    assert len(operations) >= 25
    missing = []
    for method, path in operations:
        concrete = "/v1" + re.sub(r"\{[^}]+\}", "x", path)
        body = {} if method in ("post", "put") else None
        status, _headers, raw = emu.request(method.upper(), concrete, body, {"Authorization": f"Bearer {emu.token()}"})
        if status == 404 and raw == b"404 page not found":
            missing.append(f"{method.upper()} {path}")
    assert missing == []


def test_uncorrected_swagger_paths_are_not_routes(emu):
    """The two documented-but-wrong forms really are 404 on the real server."""
    status, _h, raw = emu.request("GET", "/v1/valueTemplateExample/fate/v2.0.0")
    assert (status, raw) == (404, b"404 page not found")
    for path in ("/v1/user", "/v1/user/"):  # no PUT route with or without the slash: no redirect either
        status, _h, raw = emu.request("PUT", path, {})
        assert (status, raw) == (404, b"404 page not found")


GO_NAMES = {"id": "ID", "createdAt": "CreatedAt", "updatedAt": "UpdatedAt", "deletedAt": "DeletedAt"}


def _real_key(swagger_key: str, capitalised: bool) -> str:
    if swagger_key in GO_NAMES:
        return GO_NAMES[swagger_key]
    return swagger_key[0].upper() + swagger_key[1:] if capitalised else swagger_key


def test_job_and_cluster_field_names_follow_the_server_not_the_swagger(emu, shared):
    if not SWAGGER.is_file():
        pytest.skip("the KubeFATE swagger.json is not available at ../shared/kubefate/api (read-only test data)")
    definitions = json.loads(SWAGGER.read_text())["definitions"]
    job, cluster_id = install_ok(emu, exchange_yaml())
    cluster = emu.api("GET", f"/v1/cluster/{cluster_id}")[1]["data"]
    namespace = emu.api("GET", "/v1/namespace/")[1]["data"][0]
    sub_job = next(iter(job["sub_jobs"].values()))
    real = {
        "modules.Job": (job, False),
        "modules.Cluster": (cluster, False),
        "modules.SubJob": (sub_job, True),
        "modules.Namespace": (namespace, True),
        "modules.ClusterArgs": (job["meta_data"], False),
    }
    for definition, (obj, capitalised) in real.items():
        for key in definitions[definition]["properties"]:
            want = _real_key(key, capitalised)
            assert want in obj, f"{definition}.{key}: the server sends {want!r}"
            if want != key:
                assert key not in obj, f"{definition}: swagger's {key!r} is not what the server sends"
    # enums are strings, not the swagger's integers
    assert isinstance(job["status"], str) and isinstance(cluster["status"], str)


def test_other_routes_answer_like_the_server(emu):
    status, body = emu.api("GET", "/v1/job/")
    assert status == 200 and body["msg"] == "getJobList Success"
    status, body = emu.api("POST", "/v1/user", {"username": "alice", "password": "pw", "email": "a@example.com"})
    assert status == 200 and body["msg"] == "createCluster Success"  # (sic) as in pkg/api/user.go
    user = body["data"]
    assert {"uuid", "username", "password", "salt", "email", "userStatus", "ID", "CreatedAt"} <= set(user)
    assert user["userStatus"] == "Available" and len(user["password"]) == 512
    status, body = emu.api("GET", "/v1/user/")
    assert status == 200 and {"admin", "alice"} <= {u["username"] for u in body["data"]}
    assert emu.api("GET", f"/v1/user/{user['uuid']}")[1]["data"]["username"] == "alice"
    assert emu.api("PUT", f"/v1/user/{user['uuid']}", {"email": "b@example.com"}) == (200, {"msg": "setUser Success"})
    assert emu.login("alice", "pw")
    assert emu.api("DELETE", f"/v1/user/{user['uuid']}") == (200, {"msg": "deleteUser Success"})
    assert emu.api("GET", f"/v1/user/{user['uuid']}") == (500, {"error": "record not found"})

    assert emu.api("GET", "/v1/version/") == (200, {"msg": "getVersion Success", "version": "v1.4.5"})
    status, body = emu.api("GET", "/v1/namespace/")
    assert status == 200 and body["msg"] == "getNamespaceList Success"
    assert set(body["data"][0]) == {"Name", "Status", "Labels", "Annotations", "Age"}
    status, body = emu.api("GET", "/v1/log/nope")
    assert (status, body) == (400, {"error": "get Cluster error, record not found"})
    assert emu.api("DELETE", "/v1/chart/nope") == (200, {"msg": "deleteChart Success"})
    assert emu.api("GET", "/v1/chart/nope") == (500, {"error": "record not found"})
    status, _h, _raw = emu.request("GET", "/v1/swagger/index.html")
    assert status == 200
