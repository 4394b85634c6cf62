"""The fake through the real ``kubernetes`` Python client (DynamicClient over a kubeconfig), as collections use it."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

kubernetes = pytest.importorskip("kubernetes")
from kubernetes.dynamic.exceptions import ApiException  # noqa: E402

SMP = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def res(dyn, api_version: str, kind: str):
    return dyn.resources.get(api_version=api_version, kind=kind)


def namespace(dyn, name: str | None = None) -> str:
    name = name or unique("ns")
    res(dyn, "v1", "Namespace").create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


def deployment(name: str, replicas: Any = 2, labels: dict | None = None, **spec_extra) -> dict:
    labels = labels or {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "image": "nginx:1.25",
                            "args": ["--a", "--b"],
                            "ports": [{"containerPort": 80, "name": "http"}],
                            "env": [{"name": "A", "value": "1"}],
                        }
                    ]
                },
            },
            **spec_extra,
        },
    }


def error(exc: ApiException) -> dict:
    return json.loads(exc.body)


# ------------------------------------------------------------------ discovery and auth


def test_discovery_matches_a_real_server(kube, dyn):
    status, core = kube.api("GET", "/api/v1")
    assert status == 200 and core["groupVersion"] == "v1" and core["kind"] == "APIResourceList"
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["pods/log"]["kind"] == "Pod" and by_name["pods/exec"]["verbs"] == ["create", "get"]
    assert by_name["services"]["shortNames"] == ["svc"] and by_name["namespaces"]["namespaced"] is False
    for plural in (
        "namespaces",
        "services",
        "secrets",
        "configmaps",
        "serviceaccounts",
        "persistentvolumeclaims",
        "persistentvolumes",
        "pods",
        "nodes",
        "endpoints",
        "events",
    ):
        assert plural in by_name, plural
    status, apps = kube.api("GET", "/apis/apps/v1")
    apps_names = {r["name"]: r for r in apps["resources"]}
    assert apps["groupVersion"] == "apps/v1"
    assert apps_names["deployments/status"]["verbs"] == ["get", "patch", "update"]
    assert apps_names["deployments/scale"]["group"] == "autoscaling"
    assert apps_names["deployments"]["singularName"] == "deployment" and apps_names["deployments"]["shortNames"] == [
        "deploy"
    ]
    _status, groups = kube.api("GET", "/apis")
    names = {g["name"]: g for g in groups["groups"]}
    for group in (
        "apps",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "batch",
        "policy",
        "storage.k8s.io",
        "admissionregistration.k8s.io",
        "coordination.k8s.io",
        "apiextensions.k8s.io",
    ):
        assert group in names, group
    assert names["autoscaling"]["preferredVersion"]["version"] == "v2"
    _status, version = kube.api("GET", "/version")
    assert (version["major"], version["minor"], version["gitVersion"]) == ("1", "28", "v1.28.0")
    assert kube.api("GET", "/openapi/v2")[0] == 404
    # the real client resolves kinds, names and short names through this discovery
    assert res(dyn, "networking.k8s.io/v1", "Ingress").namespaced is True
    assert dyn.resources.get(api_version="v1", short_names=["pvc"]).kind == "PersistentVolumeClaim"
    assert res(dyn, "rbac.authorization.k8s.io/v1", "ClusterRoleBinding").namespaced is False


def test_token_is_required(kube):
    status, body = kube.api("GET", "/api/v1/namespaces", token="")
    assert status == 401 and body["reason"] == "Unauthorized" and body["kind"] == "Status"
    assert kube.api("GET", "/api/v1/namespaces", token="wrong")[0] == 401
    assert kube.api("GET", "/api/v1/namespaces")[0] == 200


def test_initial_cluster(kube, dyn):
    nodes = res(dyn, "v1", "Node").get().items
    assert [n.metadata.name for n in nodes] == ["node-1"]
    assert {a.type: a.address for a in nodes[0].status.addresses}["InternalIP"] == "127.0.0.1"
    names = {n.metadata.name for n in res(dyn, "v1", "Namespace").get().items}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names
    assert res(dyn, "v1", "Service").get(namespace="default", name="kubernetes").spec.clusterIP == "10.96.0.1"


# ------------------------------------------------------------------ create and read


def test_create_the_usual_objects(kube, dyn):
    ns = namespace(dyn)
    assert kube.get("Namespace", ns)["status"] == {"phase": "Active"}
    dep = res(dyn, "apps/v1", "Deployment").create(namespace=ns, body=deployment("web"))
    assert dep.metadata.generation == 1 and dep.metadata.uid and dep.metadata.creationTimestamp
    assert dep.status.readyReplicas == 2 and dep.status.observedGeneration == 1
    assert {c.type: c.status for c in dep.status.conditions} == {"Available": "True", "Progressing": "True"}
    svc = res(dyn, "v1", "Service").create(
        namespace=ns,
        body={
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {
                "type": "NodePort",
                "selector": {"app": "web"},
                "ports": [{"name": "http", "port": 80}, {"name": "admin", "port": 8080, "nodePort": 30080}],
            },
        },
    )
    ports = {p.name: p for p in svc.spec.ports}
    assert ports["admin"].nodePort == 30080 and 30000 <= ports["http"].nodePort <= 32767
    assert ports["http"].targetPort == 80 and ports["http"].protocol == "TCP"
    assert svc.spec.clusterIP.startswith("10.96.") and svc.spec.clusterIPs == [svc.spec.clusterIP]
    ing = res(dyn, "networking.k8s.io/v1", "Ingress").create(
        namespace=ns,
        body={
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "web"},
            "spec": {
                "rules": [
                    {
                        "host": "web.example",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "web", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ]
            },
        },
    )
    assert ing.metadata.generation == 1
    secret = res(dyn, "v1", "Secret").create(
        namespace=ns,
        body={
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds"},
            "stringData": {"password": "hunter2"},
        },
    )
    assert secret.data.password == "aHVudGVyMg==" and secret.type == "Opaque" and "stringData" not in secret.to_dict()
    assert secret.metadata.generation is None
    pvc = res(dyn, "v1", "PersistentVolumeClaim").create(
        namespace=ns,
        body={
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        },
    )
    assert pvc.status.phase == "Bound" and pvc.status.capacity.storage == "1Gi"
    assert pvc.spec.storageClassName == "standard" and pvc.spec.volumeName.startswith("pvc-")
    crb = res(dyn, "rbac.authorization.k8s.io/v1", "ClusterRoleBinding").create(
        body={
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": unique("crb"), "namespace": "ignored"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns}],
        }
    )
    assert crb.metadata.namespace is None
    # what the fake stored is what the API returned
    stored = kube.get("Deployment", "web", ns)
    assert stored["kind"] == "Deployment" and stored["metadata"]["resourceVersion"] == dep.metadata.resourceVersion
    assert [o["metadata"]["name"] for o in kube.objects("Service", ns)] == ["web"]
    assert {o["kind"] for o in kube.objects(namespace=ns)} == {
        "Deployment",
        "Service",
        "Ingress",
        "Secret",
        "PersistentVolumeClaim",
    }
    creates = [w for w in kube.writes() if w["method"] == "POST" and ns in w["path"]]
    assert creates[0]["path"] == f"/apis/apps/v1/namespaces/{ns}/deployments"
    assert creates[0]["content_type"] == "application/json" and creates[0]["status"] == 201
    assert creates[0]["body"]["spec"]["replicas"] == 2


def test_resource_versions_grow_and_no_op_writes_keep_them(kube, dyn):
    ns = namespace(dyn)
    cms = res(dyn, "v1", "ConfigMap")
    first = cms.create(
        namespace=ns, body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}}
    )
    second = cms.create(namespace=ns, body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}})
    assert int(second.metadata.resourceVersion) > int(first.metadata.resourceVersion)
    same = cms.patch(namespace=ns, name="a", body={"data": {"k": "v"}}, content_type=SMP)
    assert same.metadata.resourceVersion == first.metadata.resourceVersion
    changed = cms.patch(namespace=ns, name="a", body={"data": {"k": "w"}}, content_type=SMP)
    assert int(changed.metadata.resourceVersion) > int(second.metadata.resourceVersion)
    listing = cms.get(namespace=ns)
    assert listing.kind == "ConfigMapList" and listing.apiVersion == "v1"
    assert int(listing.metadata.resourceVersion) >= int(changed.metadata.resourceVersion)


# ------------------------------------------------------------------ errors


def test_error_statuses(kube, dyn):
    ns = namespace(dyn)
    deps = res(dyn, "apps/v1", "Deployment")
    created = deps.create(namespace=ns, body=deployment("web"))
    with pytest.raises(ApiException) as exc:
        deps.create(namespace=ns, body=deployment("web"))
    body = error(exc.value)
    assert exc.value.status == 409 and body["reason"] == "AlreadyExists"
    assert body["message"] == 'deployments.apps "web" already exists'
    with pytest.raises(ApiException) as exc:
        deps.create(namespace="no-such-ns", body=deployment("web"))
    assert exc.value.status == 404 and error(exc.value)["message"] == 'namespaces "no-such-ns" not found'
    with pytest.raises(ApiException) as exc:
        deps.get(namespace=ns, name="absent")
    assert exc.value.status == 404 and error(exc.value)["details"] == {
        "name": "absent",
        "group": "apps",
        "kind": "deployments",
    }
    stale = created.to_dict()
    deps.patch(namespace=ns, name="web", body={"spec": {"replicas": 3}}, content_type=MERGE)
    with pytest.raises(ApiException) as exc:
        deps.replace(namespace=ns, body=stale)
    assert exc.value.status == 409 and error(exc.value)["reason"] == "Conflict"
    assert "the object has been modified" in error(exc.value)["message"]
    fresh = deps.get(namespace=ns, name="web").to_dict()
    fresh["spec"]["replicas"] = 4
    assert deps.replace(namespace=ns, body=fresh).spec.replicas == 4
    with pytest.raises(ApiException) as exc:
        deps.delete(namespace=ns, name="absent")
    assert exc.value.status == 404


def needs_schemas(kube) -> None:
    if not kube.info()["validation"]:
        pytest.skip("the fake's interpreter has no kubernetes-validate")


def test_validation_errors_and_unknown_fields(kube, dyn):
    needs_schemas(kube)
    ns = namespace(dyn)
    status, body = kube.api("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", deployment("bad", replicas="two"))
    assert status == 422 and body["reason"] == "Invalid"
    assert body["message"].startswith('Deployment.apps "bad" is invalid: spec.replicas: Invalid value: "two": ')
    assert body["details"]["causes"][0]["field"] == "spec.replicas"
    no_selector = deployment("bad")
    del no_selector["spec"]["selector"]
    status, body = kube.api("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", no_selector)
    assert status == 422 and "spec.selector: Required value" in body["message"]
    mismatch = deployment("bad")
    mismatch["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    status, body = kube.api("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", mismatch)
    assert status == 422 and "`selector` does not match template `labels`" in body["message"]
    status, body = kube.api(
        "POST",
        f"/api/v1/namespaces/{ns}/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}},
    )
    assert status == 422 and "RFC 1123 subdomain" in body["message"]
    # unknown fields: stored without them and a Warning header, like fieldValidation=Warn
    unknown = deployment("typo")
    unknown["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    status, headers, _raw = kube.request(
        "POST",
        f"/apis/apps/v1/namespaces/{ns}/deployments",
        unknown,
        {"Authorization": "Bearer fake-token"},
    )
    assert status == 201
    assert headers["Warning"] == '299 - "unknown field \\"spec.template.spec.containers[0].imagePullPolcy\\""'
    assert "imagePullPolcy" not in json.dumps(kube.get("Deployment", "typo", ns))
    status, body = kube.api(
        "POST",
        f"/apis/apps/v1/namespaces/{ns}/deployments?fieldValidation=Strict",
        {**unknown, "metadata": {"name": "strict"}},
    )
    assert status == 400 and "strict decoding error: unknown field" in body["message"]
    assert kube.get("Deployment", "bad", ns) is None


def test_immutable_fields(kube, dyn):
    ns = namespace(dyn)
    deps = res(dyn, "apps/v1", "Deployment")
    deps.create(namespace=ns, body=deployment("web"))
    changed = deployment("web", labels={"app": "web", "tier": "x"})
    with pytest.raises(ApiException) as exc:
        deps.patch(namespace=ns, name="web", body=changed, content_type=SMP)
    assert exc.value.status == 422 and "spec.selector: Invalid value" in error(exc.value)["message"]
    rbs = res(dyn, "rbac.authorization.k8s.io/v1", "RoleBinding")
    body = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "rb"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [],
    }
    rbs.create(namespace=ns, body=body)
    with pytest.raises(ApiException) as exc:
        rbs.patch(namespace=ns, name="rb", body={"roleRef": {"name": "edit"}}, content_type=MERGE)
    assert exc.value.status == 422 and "cannot change roleRef" in error(exc.value)["message"]


# ------------------------------------------------------------------ lists and selectors


def test_label_and_field_selectors(kube, dyn):
    ns, other = namespace(dyn), namespace(dyn)
    cms = res(dyn, "v1", "ConfigMap")
    for name, labels, where in (
        ("a", {"app": "web", "tier": "front"}, ns),
        ("b", {"app": "web", "tier": "back"}, ns),
        ("c", {"app": "db"}, ns),
        ("d", {"app": "web", "tier": "front"}, other),
    ):
        cms.create(
            namespace=where,
            body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}},
        )

    def names(**params) -> list[str]:
        return sorted(i.metadata.name for i in cms.get(**params).items)

    assert names(namespace=ns, label_selector="app=web") == ["a", "b"]
    assert names(namespace=ns, label_selector="app==web,tier!=front") == ["b"]
    assert names(namespace=ns, label_selector="tier in (front, back)") == ["a", "b"]
    assert names(namespace=ns, label_selector="tier notin (front)") == ["b", "c"]
    assert names(namespace=ns, label_selector="tier") == ["a", "b"]
    assert names(namespace=ns, label_selector="!tier") == ["c"]
    assert names(namespace=ns, field_selector="metadata.name=c") == ["c"]
    assert names(namespace=ns, field_selector="metadata.name!=c") == ["a", "b"]
    everywhere = list(cms.get(label_selector="app=web,tier=front").items)
    assert sorted((i.metadata.namespace, i.metadata.name) for i in everywhere) == sorted([(ns, "a"), (other, "d")])
    assert names(field_selector=f"metadata.namespace={other}") == ["d"]
    status, body = kube.api("GET", f"/api/v1/namespaces/{ns}/configmaps?fieldSelector=data.x%3Dy")
    assert status == 400 and "not a known field selector" in body["message"]
    status, body = kube.api("GET", f"/api/v1/namespaces/{ns}/configmaps?limit=2")
    assert [i["metadata"]["name"] for i in body["items"]] == ["a", "b"] and body["metadata"]["remainingItemCount"] == 1
    assert "kind" not in body["items"][0]  # like the real server: items carry no kind/apiVersion
    _s, page2 = kube.api("GET", f"/api/v1/namespaces/{ns}/configmaps?limit=2&continue={body['metadata']['continue']}")
    assert [i["metadata"]["name"] for i in page2["items"]] == ["c"]


# ------------------------------------------------------------------ patches


def test_strategic_merge_patch_merges_keyed_lists(kube, dyn):
    ns = namespace(dyn)
    deps = res(dyn, "apps/v1", "Deployment")
    deps.create(namespace=ns, body=deployment("web"))
    patched = deps.patch(
        namespace=ns,
        name="web",
        content_type=SMP,
        body={
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "main",
                                "args": ["--c"],
                                "env": [{"name": "B", "value": "2"}],
                                "ports": [{"containerPort": 9090, "name": "metrics"}],
                            },
                            {"name": "sidecar", "image": "busybox:1.36"},
                        ]
                    }
                }
            }
        },
    ).to_dict()
    containers = patched["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["main", "sidecar"]
    main = containers[0]
    assert main["args"] == ["--c"]  # lists without a merge key are replaced
    assert [e["name"] for e in main["env"]] == ["A", "B"]
    assert [p["containerPort"] for p in main["ports"]] == [80, 9090]
    assert patched["metadata"]["generation"] == 2
    removed = deps.patch(
        namespace=ns,
        name="web",
        content_type=SMP,
        body={"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}},
    )
    assert [c.name for c in removed.spec.template.spec.containers] == ["main"]
    labelled = deps.patch(namespace=ns, name="web", content_type=MERGE, body={"metadata": {"labels": {"x": "y"}}})
    assert labelled.metadata.generation == 3 and labelled.metadata.labels.x == "y"  # labels do not bump generation
    merged = deps.patch(
        namespace=ns,
        name="web",
        content_type=MERGE,
        body={"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "nginx:1.26"}]}}}},
    )
    assert [c.name for c in merged.spec.template.spec.containers] == ["only"]  # merge patch replaces lists
    jp = deps.patch(
        namespace=ns,
        name="web",
        content_type=JSON_PATCH,
        body=[
            {"op": "replace", "path": "/spec/replicas", "value": 5},
            {"op": "add", "path": "/metadata/annotations", "value": {"a": "b"}},
            {"op": "test", "path": "/spec/replicas", "value": 5},
        ],
    )
    assert jp.spec.replicas == 5 and jp.metadata.annotations.a == "b" and jp.status.readyReplicas == 5
    status, body = kube.api(
        "PATCH",
        f"/apis/apps/v1/namespaces/{ns}/deployments/web",
        [{"op": "test", "path": "/spec/replicas", "value": 1}],
        content_type=JSON_PATCH,
    )
    assert status == 422 and "testing value /spec/replicas failed" in body["message"]
    svcs = res(dyn, "v1", "Service")
    svcs.create(
        namespace=ns,
        body={
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "s"},
            "spec": {"ports": [{"name": "a", "port": 80}]},
        },
    )
    svc = svcs.patch(namespace=ns, name="s", content_type=SMP, body={"spec": {"ports": [{"name": "b", "port": 81}]}})
    assert [p.port for p in svc.spec.ports] == [80, 81]  # Service ports merge on port


def test_server_side_apply(kube):
    ns = unique("ssa")
    kube.api("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    path = f"/api/v1/namespaces/{ns}/configmaps/cfg"
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg", "labels": {"a": "1"}},
        "data": {"x": "1", "y": "2"},
    }
    status, body = kube.api("PATCH", path, config, content_type="application/apply-patch+yaml")
    assert status == 400 and "fieldManager" in body["message"]
    status, body = kube.api(
        "PATCH", path + "?fieldManager=ansible", config, content_type="application/apply-patch+yaml"
    )
    assert status == 201 and body["data"] == {"x": "1", "y": "2"}
    version = body["metadata"]["resourceVersion"]
    yaml_text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  labels: {a: '1'}\ndata:\n  x: '1'\n  y: '2'\n"
    )
    status, body = kube.api(
        "PATCH", path + "?fieldManager=ansible", yaml_text, content_type="application/apply-patch+yaml"
    )
    assert status == 200 and body["metadata"]["resourceVersion"] == version  # no change, no new version
    # another writer changes y; a plain update takes ownership of it
    status, _b = kube.api("PATCH", path + "?fieldManager=operator", {"data": {"y": "3"}}, content_type=MERGE)
    assert status == 200
    status, body = kube.api(
        "PATCH", path + "?fieldManager=ansible", config, content_type="application/apply-patch+yaml"
    )
    assert status == 409 and body["reason"] == "Conflict" and 'conflict with "operator": .data.y' in body["message"]
    status, body = kube.api(
        "PATCH", path + "?fieldManager=ansible&force=true", config, content_type="application/apply-patch+yaml"
    )
    assert status == 200 and body["data"]["y"] == "2"
    # dropping a field from the applied configuration removes it (nobody else owns it)
    smaller = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"x": "1"}}
    status, body = kube.api(
        "PATCH", path + "?fieldManager=ansible", smaller, content_type="application/apply-patch+yaml"
    )
    assert status == 200 and body["data"] == {"x": "1"} and "labels" not in body["metadata"]
    assert kube.field_managers("ConfigMap", "cfg", ns)["ansible"]["fields"] == [".data.x"]


def test_dry_run_stores_nothing(kube, dyn):
    needs_schemas(kube)
    ns = namespace(dyn)
    deps = res(dyn, "apps/v1", "Deployment")
    deps.create(namespace=ns, body=deployment("web"))
    before = kube.objects(namespace=ns)
    created = deps.create(namespace=ns, body=deployment("new"), dry_run="All")
    assert created.metadata.name == "new" and created.status.readyReplicas == 2
    patched = deps.patch(namespace=ns, name="web", body={"spec": {"replicas": 7}}, content_type=SMP, dry_run="All")
    assert patched.spec.replicas == 7
    deps.delete(namespace=ns, name="web", dry_run="All")
    status, body = kube.api(
        "POST", f"/apis/apps/v1/namespaces/{ns}/deployments?dryRun=All", deployment("x", replicas="two")
    )
    assert status == 422 and body["reason"] == "Invalid"
    assert kube.objects(namespace=ns) == before
    dry = [w for w in kube.writes() if ns in w["path"] and w["dry_run"]]
    assert [w["method"] for w in dry] == ["POST", "PATCH", "DELETE", "POST"]
    assert kube.writes(include_dry_run=False)[-1]["method"] == "POST"


# ------------------------------------------------------------------ deletion


def test_delete_and_namespace_cascade(kube, dyn):
    ns = namespace(dyn)
    deps = res(dyn, "apps/v1", "Deployment")
    cms = res(dyn, "v1", "ConfigMap")
    dep = deps.create(namespace=ns, body=deployment("web"))
    owned = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "owned",
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": dep.metadata.uid}
            ],
        },
    }
    cms.create(namespace=ns, body=owned)
    cms.create(namespace=ns, body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "keep"}})
    result = deps.delete(namespace=ns, name="web")
    assert result.kind == "Status" and result.status == "Success" and result.details.uid == dep.metadata.uid
    assert kube.names("ConfigMap", ns) == ["keep"]  # garbage collection through ownerReferences
    deps.create(namespace=ns, body=deployment("web2"))
    gone = res(dyn, "v1", "Namespace").delete(name=ns)
    assert gone.status.phase == "Terminating" and gone.metadata.deletionTimestamp
    assert kube.objects(namespace=ns) == [] and kube.get("Namespace", ns) is None
    with pytest.raises(ApiException) as exc:
        deps.get(namespace=ns, name="web2")
    assert exc.value.status == 404


def test_finalizers_hold_deletion(kube, dyn):
    ns = namespace(dyn)
    cms = res(dyn, "v1", "ConfigMap")
    cms.create(
        namespace=ns, body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "f", "finalizers": ["x/y"]}}
    )
    held = cms.delete(namespace=ns, name="f")
    assert held.metadata.deletionTimestamp and kube.get("ConfigMap", "f", ns) is not None
    cms.patch(namespace=ns, name="f", body={"metadata": {"finalizers": None}}, content_type=MERGE)
    assert kube.get("ConfigMap", "f", ns) is None


# ------------------------------------------------------------------ controllers


def test_workloads_look_healthy(kube, dyn):
    ns = namespace(dyn)
    sts = res(dyn, "apps/v1", "StatefulSet").create(
        namespace=ns,
        body={
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "db"},
            "spec": {
                "serviceName": "db",
                "replicas": 3,
                "selector": {"matchLabels": {"app": "db"}},
                "template": {
                    "metadata": {"labels": {"app": "db"}},
                    "spec": {
                        "containers": [
                            {"name": "db", "image": "mysql:8", "volumeMounts": [{"name": "data", "mountPath": "/d"}]}
                        ]
                    },
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
                    }
                ],
            },
        },
    )
    assert sts.status.readyReplicas == 3 and sts.status.currentRevision == sts.status.updateRevision
    assert sts.spec.updateStrategy.type == "RollingUpdate"
    assert sts.spec.volumeClaimTemplates[0].kind == "PersistentVolumeClaim"  # defaulted like the real server
    status, body = kube.api(
        "PATCH",
        f"/apis/apps/v1/namespaces/{ns}/statefulsets/db",
        {"spec": {"serviceName": "other"}},
        content_type=MERGE,
    )
    assert status == 422 and "updates to statefulset spec for fields other than" in body["message"]
    ds = res(dyn, "apps/v1", "DaemonSet").create(
        namespace=ns,
        body={
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "agent"},
            "spec": {
                "selector": {"matchLabels": {"app": "agent"}},
                "template": {
                    "metadata": {"labels": {"app": "agent"}},
                    "spec": {"containers": [{"name": "a", "image": "busybox"}]},
                },
            },
        },
    )
    assert ds.status.desiredNumberScheduled == 1 and ds.status.numberReady == 1
    job = res(dyn, "batch/v1", "Job").create(
        namespace=ns,
        body={
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "once"},
            "spec": {
                "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "j", "image": "busybox"}]}}
            },
        },
    )
    assert job.status.succeeded == 1 and job.status.conditions[0].type == "Complete"
    assert job.spec.selector.matchLabels["batch.kubernetes.io/controller-uid"] == job.metadata.uid
    lb = res(dyn, "v1", "Service").create(
        namespace=ns,
        body={
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "lb"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
        },
    )
    assert lb.status.loadBalancer.to_dict() == {} and lb.spec.ports[0].nodePort  # pending, like bare metal


def test_lb_ip_and_unready(start):
    kube = start(lb_ip="192.0.2.10", unready=["Deployment/*/slow"])
    ns = "apps"
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    status, svc = kube.api(
        "POST",
        f"/api/v1/namespaces/{ns}/services",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "lb"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
        },
    )
    assert status == 201 and svc["status"]["loadBalancer"]["ingress"][0]["ip"] == "192.0.2.10"
    for name in ("slow", "fast"):
        assert kube.api("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", deployment(name))[0] == 201
    slow = kube.get("Deployment", "slow", ns)["status"]
    assert slow.get("readyReplicas") is None and slow["unavailableReplicas"] == 2
    assert kube.get("Deployment", "fast", ns)["status"]["readyReplicas"] == 2
    kube.set_unready()
    assert kube.get("Deployment", "slow", ns)["status"]["readyReplicas"] == 2


def test_ready_after_delays_health(start):
    kube = start(ready_after=0.6, anonymous=True)
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "slow"}})
    status, body = kube.api("POST", "/apis/apps/v1/namespaces/slow/deployments", deployment("web"), token="")
    assert status == 201 and body["status"]["conditions"][0]["status"] == "False"  # anonymous accepted
    assert kube.get("Deployment", "web", "slow")["status"].get("availableReplicas") is None
    deadline = time.monotonic() + 10
    while kube.get("Deployment", "web", "slow")["status"].get("availableReplicas") != 2:
        assert time.monotonic() < deadline, "never became available"
        time.sleep(0.1)
    ready = kube.get("Deployment", "web", "slow")
    # a label change is no rollout; a spec change is
    kube.api(
        "PATCH",
        "/apis/apps/v1/namespaces/slow/deployments/web",
        {"metadata": {"labels": {"x": "y"}}},
        content_type=MERGE,
    )
    assert kube.get("Deployment", "web", "slow")["status"]["availableReplicas"] == 2
    kube.api("PATCH", "/apis/apps/v1/namespaces/slow/deployments/web", {"spec": {"replicas": 3}}, content_type=MERGE)
    assert kube.get("Deployment", "web", "slow")["status"].get("availableReplicas") is None
    assert ready["metadata"]["generation"] == 1
    assert kube.api("GET", "/api/v1/namespaces", token="wrong")[0] == 401


def test_subresources_and_collections(kube, dyn):
    ns = namespace(dyn)
    base = f"/apis/apps/v1/namespaces/{ns}/deployments"
    assert kube.api("POST", base, deployment("web"))[0] == 201
    status, scale = kube.api("GET", f"{base}/web/scale")
    assert status == 200 and scale["kind"] == "Scale" and scale["spec"]["replicas"] == 2
    assert scale["status"]["selector"] == "app=web"
    status, scale = kube.api("PATCH", f"{base}/web/scale", {"spec": {"replicas": 4}}, content_type=MERGE)
    assert (
        status == 200 and scale["spec"]["replicas"] == 4 and kube.get("Deployment", "web", ns)["spec"]["replicas"] == 4
    )
    # the status subresource writes status only; the main resource ignores status
    status, body = kube.api(
        "PATCH", f"{base}/web/status", {"status": {"replicas": 9}, "spec": {"replicas": 1}}, content_type=MERGE
    )
    assert status == 200 and body["status"]["replicas"] == 9 and body["spec"]["replicas"] == 4
    # a main-resource write ignores the status sent; the fake's controller recomputes it
    status, body = kube.api("PATCH", f"{base}/web", {"status": {"replicas": 1}}, content_type=MERGE)
    assert body["status"]["replicas"] == 4
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"}}
    assert kube.api("POST", f"/api/v1/namespaces/{ns}/serviceaccounts", sa)[0] == 201
    status, token = kube.api(
        "POST",
        f"/api/v1/namespaces/{ns}/serviceaccounts/robot/token",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"audiences": ["x"]}},
    )
    assert status == 201 and token["status"]["token"].startswith("kube-fake.")
    assert kube.api("GET", f"{base}/web/nonsense")[0] == 404
    assert kube.api("POST", f"/api/v1/namespaces/{ns}/pods/p/exec")[0] in (400, 404)
    for name in ("a", "b", "c"):
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "labels": {"drop": str(name != "c")}},
        }
        kube.api("POST", f"/api/v1/namespaces/{ns}/configmaps", body)
    status, gone = kube.api("DELETE", f"/api/v1/namespaces/{ns}/configmaps?labelSelector=drop%3DTrue")
    assert status == 200 and gone["kind"] == "ConfigMapList" and len(gone["items"]) == 2
    assert kube.names("ConfigMap", ns) == ["c"]
    assert kube.api("DELETE", f"/api/v1/namespaces/{ns}/services")[0] == 405  # services have no deletecollection
    status, body = kube.api("PATCH", f"{base}/web", {"spec": {}}, content_type="application/json")
    assert status == 415 and body["reason"] == "UnsupportedMediaType"


def test_secret_data_must_be_base64(kube):
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "plain"}, "data": {"password": "not base64!"}}
    status, answer = kube.api("POST", "/api/v1/namespaces/default/secrets", body)
    assert status == 400 and "illegal base64 data in data.password" in answer["message"]


def test_namespace_only_token(start):
    kube = start(namespace_only=["team-a"], admin_token="root")
    assert kube.get("Namespace", "team-a")["status"]["phase"] == "Active"
    status, body = kube.api("GET", "/api/v1/namespaces")
    assert status == 403 and body["reason"] == "Forbidden"
    assert body["message"] == (
        'namespaces is forbidden: User "system:serviceaccount:team-a:kube-fake" cannot list resource "namespaces" '
        'in API group "" at the cluster scope'
    )
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}, "rules": []}
    assert kube.api("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", role)[0] == 403
    assert kube.api("GET", "/api/v1/nodes")[0] == 403
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    assert kube.api("POST", "/api/v1/namespaces/team-b/configmaps", cm)[0] == 403
    assert kube.api("GET", "/apis/apps/v1/deployments")[0] == 403
    assert kube.api("POST", "/api/v1/namespaces/team-a/configmaps", cm)[0] == 201
    assert kube.api("GET", "/api/v1/namespaces/team-a")[0] == 200
    assert kube.api("GET", "/apis")[0] == 200 and kube.api("GET", "/api/v1")[0] == 200
    assert kube.api("GET", "/api/v1/nodes", token="root")[0] == 200
    assert "namespace: team-a" in Path(kube.kubeconfig).read_text()


def test_watch_streams_events(kube, dyn):
    ns = namespace(dyn)
    cms = res(dyn, "v1", "ConfigMap")
    start = cms.get(namespace=ns).metadata.resourceVersion
    cms.create(
        namespace=ns, body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w"}, "data": {"a": "1"}}
    )
    cms.patch(namespace=ns, name="w", body={"data": {"a": "2"}}, content_type=MERGE)
    cms.delete(namespace=ns, name="w")
    events = [
        (e["type"], e["object"].metadata.name) for e in cms.watch(namespace=ns, resource_version=start, timeout=1)
    ]
    assert events == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


def test_custom_resources(kube, dyn):
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }
    created = res(dyn, "apiextensions.k8s.io/v1", "CustomResourceDefinition").create(body=crd)
    assert {c.type for c in created.status.conditions} == {"NamesAccepted", "Established"}
    status, group = kube.api("GET", "/apis/example.com/v1")
    assert status == 200 and group["resources"][0]["name"] == "widgets"
    ns = unique("cr")
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"size": 3}}
    assert kube.api("POST", f"/apis/example.com/v1/namespaces/{ns}/widgets", widget)[0] == 201
    status, _b = kube.api(
        "PATCH", f"/apis/example.com/v1/namespaces/{ns}/widgets/w1", {"spec": {"size": 4}}, content_type=SMP
    )
    assert status == 415  # no strategic merge for custom resources
    status, body = kube.api(
        "PATCH", f"/apis/example.com/v1/namespaces/{ns}/widgets/w1", {"spec": {"size": 4}}, content_type=MERGE
    )
    assert status == 200 and body["spec"]["size"] == 4 and body["metadata"]["generation"] == 2
    assert kube.api("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com")[0] == 200
    assert kube.objects(kind="Widget") == []
    assert kube.api("GET", "/apis/example.com/v1")[0] == 404


def test_pods_mode_and_state_file(start, tmp_path):
    state = tmp_path / "state.json"
    kube = start(pods=True, state_file=state)
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}})
    assert kube.api("POST", "/apis/apps/v1/namespaces/app/deployments", deployment("web", replicas=2))[0] == 201
    pods = kube.objects("Pod", "app")
    assert len(pods) == 2 and all(p["status"]["phase"] == "Running" for p in pods)
    assert kube.names("ReplicaSet", "app")[0].startswith("web-")
    assert {p["metadata"]["labels"]["app"] for p in pods} == {"web"}
    status, log = kube.api("GET", f"/api/v1/namespaces/app/pods/{pods[0]['metadata']['name']}/log")
    assert status == 200 and "log of pod app/" in log
    kube.api("PATCH", "/apis/apps/v1/namespaces/app/deployments/web", {"spec": {"replicas": 1}}, content_type=MERGE)
    assert len(kube.objects("Pod", "app")) == 1
    kube.api("DELETE", "/apis/apps/v1/namespaces/app/deployments/web")
    assert kube.objects("Pod", "app") == [] and kube.objects("ReplicaSet", "app") == []
    sts = deployment("db")
    sts["kind"] = "StatefulSet"
    sts["spec"]["serviceName"] = "db"
    sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/d"}]
    sts["spec"]["volumeClaimTemplates"] = [
        {
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        }
    ]
    assert kube.api("POST", "/apis/apps/v1/namespaces/app/statefulsets", sts)[0] == 201
    assert kube.names("Pod", "app") == ["db-0", "db-1"]
    assert kube.names("PersistentVolumeClaim", "app") == ["data-db-0", "data-db-1"]
    assert kube.get("Pod", "db-1", "app")["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "data-db-1"
    kube.api("DELETE", "/api/v1/namespaces/app/pods/db-0")
    assert kube.names("Pod", "app") == ["db-0", "db-1"]  # the controller replaces a deleted pod
    kube.api("DELETE", "/apis/apps/v1/namespaces/app/statefulsets/db")
    assert kube.objects("Pod", "app") == [] and len(kube.objects("PersistentVolumeClaim", "app")) == 2
    kube.api(
        "POST",
        "/api/v1/namespaces/app/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kept"}},
    )
    kube.process.terminate()
    kube.process.wait()
    again = start(state_file=state)
    assert again.get("ConfigMap", "kept", "app") is not None and again.get("Namespace", "app") is not None


def test_control_api(kube):
    kube.clear_requests()
    kube.api("GET", "/api/v1/namespaces/default/configmaps?labelSelector=a%3Db")
    (record,) = kube.requests()
    assert record["method"] == "GET" and record["query"] == {"labelSelector": "a=b"} and record["status"] == 200
    assert kube.requests(since=record["seq"]) == []
