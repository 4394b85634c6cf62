"""The whole federation with namespace-admin rights only: no cluster-scoped request is needed, none is written.

The Kubernetes API fake runs with a token restricted to the federation's namespaces (every cluster-scoped call
and every other namespace answers 403), as a cluster administrator would hand them out; what the collection
would otherwise discover (node address, ingress controller) comes from the inventory.
"""

from __future__ import annotations

import shutil

import pytest
import yaml
from ansible_run import CHARTS, SANDBOX, recap, run_playbook, stored_cluster
from kube_fake.testing import run_kube_fake
from kubefate_emulator.testing import run_emulator

pytestmark = pytest.mark.skipif(not CHARTS.is_dir(), reason="reference KubeFATE charts (../shared) absent")
PASSWORD = "sandbox-demo-only"
FAST = ("-e", "fate_wait_sleep=1")
NAMESPACES = ["kube-fate", "fate-9999", "fate-10000", "fate-exchange"]


@pytest.fixture(scope="module")
def inventory(tmp_path_factory):
    path = tmp_path_factory.mktemp("rbac") / "sandbox"
    shutil.copytree(SANDBOX, path)
    group_vars = path / "group_vars" / "sandbox.yml"
    data = yaml.safe_load(group_vars.read_text())
    cluster = data["fate_kube_clusters"]["sandbox"]
    cluster["rbac"] = "namespace"
    cluster["ingress"] = {"install": False, "address": "127.0.0.1", "http_port": 30080}
    group_vars.write_text(yaml.safe_dump(data))
    return path


def cluster_scoped(requests):
    return [r for r in requests if "/namespaces/" not in r["path"] and r["path"] not in ("/api", "/apis", "/version")]


def test_deploy_and_delete_with_namespace_rights_only(inventory):
    with run_kube_fake(namespace_only=NAMESPACES) as kube, run_emulator(password=PASSWORD, job_seconds=1) as emulator:
        proc = run_playbook("deploy_federation", kube, emulator, *FAST, inventory=inventory)
        assert proc.returncode == 0, proc.stdout[-4000:]
        requests = kube.requests()
        assert [r for r in requests if r.get("status") == 403] == []
        assert [r for r in kube.writes(include_dry_run=False) if "/namespaces/" not in r["path"]] == []
        assert kube.get("ClusterRole", "kubefate-role") is None
        for namespace in NAMESPACES:
            binding = kube.get("RoleBinding", "kubefate-admin", namespace)
            assert binding["roleRef"]["name"] == "admin", namespace
        assert stored_cluster(emulator, "fate-9999")["status"] == "Running"

        kube.clear_requests()
        again = run_playbook("deploy_federation", kube, emulator, *FAST, inventory=inventory)
        assert again.returncode == 0, again.stdout[-4000:]
        assert all(s["changed"] == 0 for s in recap(again.stdout).values())

        kube.clear_requests()
        deleted = run_playbook(
            "delete_federation",
            kube,
            emulator,
            *FAST,
            "-e",
            "fate_delete_confirm=sandbox",
            "-e",
            "fate_delete_namespaces=true",
            inventory=inventory,
        )
        assert deleted.returncode == 0, deleted.stdout[-4000:]
        assert [r for r in kube.requests() if r.get("status") == 403] == []
        # The namespaces stay (a namespace admin cannot delete them); nothing of the collection is left in them.
        for namespace in NAMESPACES[1:]:
            assert kube.get("Namespace", namespace) is not None
            leftovers = [
                o
                for o in kube.objects()
                if o["metadata"].get("namespace") == namespace
                and o["kind"] in ("Secret", "PersistentVolumeClaim")
                and (o["metadata"].get("labels") or {}).get("app.kubernetes.io/managed-by") == "fateops.kubefate"
            ]
            assert leftovers == [], leftovers


def test_missing_namespace_is_refused_before_any_write(inventory):
    with (
        run_kube_fake(namespace_only=NAMESPACES[:-1]) as kube,
        run_emulator(password=PASSWORD, job_seconds=1) as emulator,
    ):
        proc = run_playbook("deploy_federation", kube, emulator, *FAST, inventory=inventory)
        assert proc.returncode != 0
        assert (
            "fate_kube_clusters.sandbox.rbac is namespace, but namespace(s) fate-exchange do not exist or are not "
            "this user's; a cluster administrator must create them and give this user the admin role in each"
        ) in proc.stdout
        assert kube.writes(include_dry_run=False) == []
        assert emulator.writes() == []
