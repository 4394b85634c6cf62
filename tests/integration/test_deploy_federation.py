"""deploy_federation end to end, against the Kubernetes API fake and the KubeFATE emulator.

One federation (inventories/sandbox: star, FATE 2.0.0 eggroll, two parties and an exchange) is taken from
nothing to running, then re-run; each step asserts on what the stand-ins recorded.
"""

from __future__ import annotations

import base64
import json
import re
import shutil

import pytest
import yaml
from ansible_run import SANDBOX, SHARED, recap, run_playbook, stored_cluster
from kube_fake.testing import run_kube_fake
from kubefate_emulator.testing import run_emulator

pytestmark = pytest.mark.skipif(
    not (SHARED / "kubefate" / "charts").is_dir(), reason="reference KubeFATE charts (../shared) absent"
)
PASSWORD = "sandbox-demo-only"


@pytest.fixture(scope="module")
def standins():
    with run_kube_fake() as kube, run_emulator(password=PASSWORD, job_seconds=2) as emulator:
        yield kube, emulator


def deploy(kube, emulator, *args, inventory=SANDBOX):
    return run_playbook("deploy_federation", kube, emulator, *args, inventory=inventory)


def test_check_mode_on_an_empty_cluster_writes_nothing(standins):
    kube, emulator = standins
    proc = deploy(kube, emulator, "--check", "--diff")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert emulator.writes() == []
    assert kube.writes(include_dry_run=False) == []
    assert "3 clusters, 3 would change (check mode)" in proc.stdout
    assert re.search(r"9999\s+fate\s+fate-9999\s+fate v2.0.0\s+sandbox\s+check mode\s+install", proc.stdout)


def test_deploy_then_rerun_changes_nothing(standins):
    kube, emulator = standins
    emulator.clear_requests()
    first = deploy(kube, emulator)
    assert first.returncode == 0, first.stdout[-6000:]
    installs = [r["body"]["name"] for r in emulator.writes() if (r["method"], r["path"]) == ("POST", "/v1/cluster")]
    assert sorted(installs) == ["fate-10000", "fate-9999", "fate-exchange"]
    assert [r for r in emulator.writes() if r["path"] == "/v1/chart"], "the FATE 2.0.0 chart was not uploaded"
    for request in emulator.writes():
        if request["path"] == "/v1/cluster":
            assert request["body"]["cover"] is False

    # The KubeFATE server the role applied: MariaDB on a PVC, credentials from the inventory, an ingress.
    secret = kube.get("Secret", "kubefate-secret", "kube-fate")
    assert base64.b64decode(secret["data"]["kubefatePassword"]).decode() == PASSWORD
    assert kube.get("PersistentVolumeClaim", "kubefate-mariadb", "kube-fate")["spec"]["resources"]["requests"] == {
        "storage": "1Gi"
    }
    mariadb = kube.get("Deployment", "mariadb", "kube-fate")
    assert mariadb["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "kubefate-mariadb"
    ingress = kube.get("Ingress", "kubefate", "kube-fate")
    assert ingress["spec"]["rules"][0]["host"] == "kubefate.sandbox.local"
    assert kube.get("Deployment", "ingress-nginx-controller", "ingress-nginx")
    for namespace in ("fate-9999", "fate-10000", "fate-exchange"):
        assert kube.get("Namespace", namespace)

    # Route tables: star through the exchange, computed from the inventory.
    exchange = stored_cluster(emulator, "fate-exchange")["Spec"]
    assert sorted(p["partyId"] for p in exchange["rollsite"]["partyList"]) == [9999, 10000]
    party = stored_cluster(emulator, "fate-9999")["Spec"]
    assert [p["partyId"] for p in party["osx"]["partyList"]] == [10000]
    assert party["osx"]["partyList"][0]["partyPort"] == exchange["rollsite"]["nodePort"]

    assert "3 clusters, 3 changed by this run" in first.stdout
    assert re.search(r"9999\s+fate\s+fate-9999\s+fate v2.0.0\s+sandbox\s+Running\s+install", first.stdout)

    emulator.clear_requests()
    second = deploy(kube, emulator)
    assert second.returncode == 0, second.stdout[-6000:]
    stats = recap(second.stdout)
    assert set(stats) == {"sandbox-exchange", "sandbox-fate-9999", "sandbox-fate-10000"}
    assert all(s["changed"] == 0 and s["failed"] == 0 for s in stats.values()), stats
    assert emulator.writes() == []
    assert "3 clusters, 0 changed by this run" in second.stdout


def test_limit_to_one_party(standins):
    kube, emulator = standins
    proc = deploy(kube, emulator, "--limit", "sandbox_party_9999", "--check")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert set(recap(proc.stdout)) == {"sandbox-fate-9999"}
    assert "1 clusters, 0 would change (check mode)" in proc.stdout


def test_bad_inventory_is_refused_before_any_write(standins, tmp_path):
    kube, emulator = standins
    inventory = tmp_path / "sandbox"
    shutil.copytree(SANDBOX, inventory)
    (inventory / "group_vars" / "sandbox_party_10000.yml").write_text("fate_party_id: 9999\n")
    sandbox_vars = inventory / "group_vars" / "sandbox.yml"
    data = yaml.safe_load(sandbox_vars.read_text())
    data["fate_kube_clusters"]["sandbox"]["kubefate"]["password"] = "admin"
    data["fate_kube_clusters"]["sandbox"]["kubefate"]["username"] = "admin"
    sandbox_vars.write_text(json.dumps(data))
    emulator.clear_requests()
    kube.clear_requests()
    proc = deploy(kube, emulator, inventory=inventory)
    assert proc.returncode != 0
    assert "9999" in proc.stdout and "fate_party_id" in proc.stdout
    assert "fate_kube_clusters.sandbox.kubefate.password: admin/admin" in proc.stdout
    assert emulator.requests() == []
    assert kube.requests() == []
