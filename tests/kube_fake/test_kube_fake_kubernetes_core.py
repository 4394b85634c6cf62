"""kubernetes.core's k8s and k8s_info modules through ansible-playbook against the fake.

Each ansible-playbook run gets its own TMPDIR (kubernetes.core caches discovery in ``$TMPDIR/k8srcp-*.json``) and
ANSIBLE_HOME, the pinned interpreter, and the ``ansible.posix.json`` callback so every task result can be read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from kube_fake.testing import run_kube_fake

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NS = "kfdemo"

pytestmark = pytest.mark.slow

if not (BIN / "ansible-playbook").exists():  # pragma: no cover - depends on the environment
    pytest.skip("ansible-playbook is not installed beside this interpreter", allow_module_level=True)


class Run:
    """One ansible-playbook run: rc, output and the per-task results for localhost."""

    def __init__(self, proc: subprocess.CompletedProcess):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.data = json.loads(proc.stdout[proc.stdout.index("{") :]) if "{" in proc.stdout else {}

    @property
    def results(self) -> list[dict]:
        out = []
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                result = task.get("hosts", {}).get("localhost")
                if result is not None:
                    out.append({**result, "_task": task["task"]["name"]})
        return out

    def task(self, name: str) -> dict:
        for result in self.results:
            if result["_task"] == name:
                return result
        raise KeyError(f"no task {name!r} in {[r['_task'] for r in self.results]}\n{self.stderr[-3000:]}")

    def changed(self) -> dict[str, bool]:
        return {r["_task"]: r.get("changed", False) for r in self.results}


def run_play(tasks: list[dict], kubeconfig: str, *args: str) -> Run:
    play = [{"name": "kube-fake", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    with tempfile.TemporaryDirectory(prefix="kube-fake-play-") as tmp:
        path = Path(tmp) / "play.yml"
        path.write_text(yaml.safe_dump(play, sort_keys=False))
        env = dict(os.environ)
        env.update(
            ANSIBLE_PYTHON_INTERPRETER=sys.executable,
            ANSIBLE_HOME=str(Path(tmp) / "ansible-home"),
            ANSIBLE_LOCAL_TEMP=str(Path(tmp) / "ansible-tmp"),
            TMPDIR=tmp,
            ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
            ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
            ANSIBLE_NOCOLOR="1",
            K8S_AUTH_KUBECONFIG=kubeconfig,
        )
        proc = subprocess.run(
            [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(path), *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    return Run(proc)


def deployment(replicas=2, name="web") -> dict:
    labels = {"app": "kfdemo", "component": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx:1.25",
                            "ports": [{"containerPort": 80, "name": "http"}],
                            "env": [{"name": "MODE", "value": "demo"}],
                        }
                    ]
                },
            },
        },
    }


OBJECTS = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS, "labels": {"app": "kfdemo"}}},
    deployment(),
    {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": NS, "labels": {"app": "kfdemo"}},
        "spec": {
            "type": "NodePort",
            "selector": {"app": "kfdemo", "component": "web"},
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "nodePort": 30080}],
        },
    },
    {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": NS, "labels": {"app": "kfdemo"}},
        "stringData": {"password": "hunter2"},
    },
    {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web", "namespace": NS, "labels": {"app": "kfdemo"}},
        "spec": {
            "rules": [
                {
                    "host": "web.kfdemo.example",
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
    {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": NS, "labels": {"app": "kfdemo"}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "kfdemo-view", "labels": {"app": "kfdemo"}},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": NS}],
    },
]

APPLY_TASKS = [
    {"name": "objects", "kubernetes.core.k8s": {"state": "present", "definition": OBJECTS}},
    {
        "name": "client-side apply",
        "kubernetes.core.k8s": {
            "state": "present",
            "apply": True,
            "definition": {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "settings", "namespace": NS, "labels": {"app": "kfdemo"}},
                "data": {"mode": "demo"},
            },
        },
    },
    {
        "name": "server-side apply",
        "kubernetes.core.k8s": {
            "state": "present",
            "apply": True,
            "server_side_apply": {"field_manager": "fateops"},
            "definition": {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "runner", "namespace": NS, "labels": {"app": "kfdemo"}},
            },
        },
    },
    {
        "name": "wait for the deployment",
        "kubernetes.core.k8s": {"state": "present", "definition": deployment(), "wait": True, "wait_timeout": 30},
    },
    {
        "name": "find deployments",
        "kubernetes.core.k8s_info": {"kind": "Deployment", "namespace": NS, "label_selectors": ["app=kfdemo"]},
    },
    {
        "name": "find everything in the namespace",
        "kubernetes.core.k8s_info": {"kind": "ConfigMap", "namespace": NS, "label_selectors": ["app in (kfdemo)"]},
    },
]


@pytest.fixture(scope="module")
def applied():
    """The fake after the apply play ran twice: (fake, first run, second run)."""
    with run_kube_fake() as kube:
        first = run_play(APPLY_TASKS, kube.kubeconfig)
        second = run_play(APPLY_TASKS, kube.kubeconfig)
        yield kube, first, second


def test_first_run_creates_everything(applied):
    kube, first, _second = applied
    assert first.rc == 0, first.stdout[-3000:]
    assert first.changed() == {
        "objects": True,
        "client-side apply": True,
        "server-side apply": True,
        "wait for the deployment": False,
        "find deployments": False,
        "find everything in the namespace": False,
    }
    assert first.task("objects")["result"]["results"][0]["method"] == "create"
    assert kube.get("Namespace", NS)["status"]["phase"] == "Active"
    service = kube.get("Service", "web", NS)
    assert service["spec"]["ports"][0]["nodePort"] == 30080 and service["spec"]["clusterIP"].startswith("10.96.")
    assert kube.get("Secret", "creds", NS)["data"] == {"password": "aHVudGVyMg=="}
    assert kube.get("PersistentVolumeClaim", "data", NS)["status"]["phase"] == "Bound"
    assert kube.get("ClusterRoleBinding", "kfdemo-view")["subjects"][0]["namespace"] == NS
    assert kube.get("ConfigMap", "settings", NS)["metadata"]["annotations"][
        "kubectl.kubernetes.io/last-applied-configuration"
    ]
    assert kube.field_managers("ServiceAccount", "runner", NS)["fateops"]["operation"] == "Apply"
    ssa = [r for r in kube.requests() if r["content_type"] == "application/apply-patch+yaml"]
    assert ssa and ssa[0]["query"]["fieldManager"] == "fateops" and ssa[0]["status"] == 201


def test_wait_and_info(applied):
    _kube, first, _second = applied
    waited = first.task("wait for the deployment")
    assert waited["result"]["status"]["readyReplicas"] == 2 and "duration" in waited
    found = first.task("find deployments")["resources"]
    assert [(r["kind"], r["metadata"]["name"]) for r in found] == [("Deployment", "web")]
    assert [r["metadata"]["name"] for r in first.task("find everything in the namespace")["resources"]] == ["settings"]


def test_second_run_changes_nothing(applied):
    kube, first, second = applied
    assert second.rc == 0, second.stdout[-3000:]
    assert set(second.changed().values()) == {False}, second.changed()
    assert {r["method"] for r in second.task("objects")["result"]["results"]} == {"update"}
    assert second.data["stats"]["localhost"]["changed"] == 0
    # the second run only patched with identical content: no object got a new resourceVersion
    versions = {
        (o["kind"], o["metadata"]["name"]): o["metadata"]["resourceVersion"] for o in kube.objects(namespace=NS)
    }
    assert (
        versions[("Deployment", "web")]
        == first.task("wait for the deployment")["result"]["metadata"]["resourceVersion"]
    )


def test_check_mode_changes_nothing(applied):
    kube, _first, _second = applied
    before = kube.objects()
    kube.clear_requests()
    tasks = [
        {"name": "scale", "kubernetes.core.k8s": {"state": "present", "definition": deployment(replicas=5)}},
        {
            "name": "new configmap",
            "kubernetes.core.k8s": {
                "state": "present",
                "definition": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "new", "namespace": NS}},
            },
        },
        {
            "name": "remove the secret",
            "kubernetes.core.k8s": {"state": "absent", "kind": "Secret", "namespace": NS, "name": "creds"},
        },
    ]
    run = run_play(tasks, kube.kubeconfig, "--check")
    assert run.rc == 0, run.stdout[-3000:]
    assert run.changed() == {"scale": True, "new configmap": True, "remove the secret": True}
    assert run.task("scale")["result"]["spec"]["replicas"] == 5
    assert kube.objects() == before
    writes = kube.writes()
    assert writes and all(w["dry_run"] and w["query"]["dryRun"] == "All" for w in writes)
    assert [w["method"] for w in writes] == ["PATCH", "POST", "DELETE"]


def test_absent_twice_validation_and_namespace_only(applied, start):
    kube, _first, _second = applied
    restricted = start(namespace_only=[NS])
    bad = deployment(name="bad")
    bad["spec"]["replicas"] = "two"
    tasks = [
        {
            "name": "delete",
            "kubernetes.core.k8s": {"state": "absent", "kind": "Secret", "namespace": NS, "name": "creds"},
        },
        {
            "name": "delete again",
            "kubernetes.core.k8s": {"state": "absent", "kind": "Secret", "namespace": NS, "name": "creds"},
        },
        {"name": "invalid", "kubernetes.core.k8s": {"state": "present", "definition": bad}, "ignore_errors": True},
        {
            "name": "cluster-scoped while namespace-only",
            "kubernetes.core.k8s": {
                "kubeconfig": restricted.kubeconfig,
                "state": "present",
                "definition": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "elsewhere"}},
            },
            "ignore_errors": True,
        },
        {
            "name": "namespaced while namespace-only",
            "kubernetes.core.k8s": {
                "kubeconfig": restricted.kubeconfig,
                "state": "present",
                "definition": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ok", "namespace": NS}},
            },
        },
    ]
    run = run_play(tasks, kube.kubeconfig)
    assert run.changed()["delete"] is True and run.task("delete")["result"]["kind"] == "Status"
    assert run.changed()["delete again"] is False
    assert kube.get("Secret", "creds", NS) is None
    invalid = run.task("invalid")
    if kube.info()["validation"]:
        assert invalid["failed"] is True and invalid["reason"] == "Unprocessable Entity"
        assert 'Deployment.apps \\"bad\\" is invalid: spec.replicas: Invalid value: \\"two\\"' in invalid["msg"]
        assert kube.get("Deployment", "bad", NS) is None
    forbidden = run.task("cluster-scoped while namespace-only")
    assert forbidden["failed"] is True and forbidden["reason"] == "Forbidden"
    assert 'cannot get resource \\"namespaces\\"' in forbidden["msg"]
    assert run.task("namespaced while namespace-only")["changed"] is True
    assert restricted.get("ConfigMap", "ok", NS) is not None and restricted.get("Namespace", "elsewhere") is None
