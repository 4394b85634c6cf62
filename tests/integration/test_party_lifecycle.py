"""Adding a party with deploy_federation and removing it with remove_party, in a running star federation.

Only what must change is written: the new party's install and the exchange's route tables when it joins;
the exchange's route tables and the party's delete when it leaves. Read back from the emulator's request log.
"""

from __future__ import annotations

import re
import shutil

import pytest
import yaml
from ansible_run import CHARTS, SANDBOX, deployed_sandbox, run_playbook, stored_cluster

pytestmark = pytest.mark.skipif(not CHARTS.is_dir(), reason="reference KubeFATE charts (../shared) absent")
# FATE 1.11.2: the parties' rollsite sends everything to the exchange, so only the exchange lists the parties.
# (FATE 2.0.0's osx lists every peer, at the exchange's address: there every party's table changes too.)
FAST = ("-e", "fate_wait_sleep=1", "-e", "fate_version=1.11.2")


def with_party(inventory, party_id):
    """A copy of the sandbox inventory with one more party group."""
    hosts = yaml.safe_load((inventory / "hosts.yml").read_text())
    parties = hosts["all"]["children"]["sandbox"]["children"]["sandbox_parties"]["children"]
    parties[f"sandbox_party_{party_id}"] = {"hosts": {f"sandbox-fate-{party_id}": {}}}
    (inventory / "hosts.yml").write_text(yaml.safe_dump(hosts))
    (inventory / "group_vars" / f"sandbox_party_{party_id}.yml").write_text(f"fate_party_id: {party_id}\n")


@pytest.fixture(scope="module")
def standins():
    with deployed_sandbox(*FAST) as standins:
        yield standins


def writes(emulator):
    out = []
    for request in emulator.writes():
        body = request.get("body") if isinstance(request.get("body"), dict) else {}
        out.append((request["method"], request["path"].rstrip("/").rsplit("/", 1)[0], body.get("name")))
    return sorted(out, key=str)


def test_add_then_remove_a_party(standins, tmp_path):
    kube, emulator = standins
    inventory = tmp_path / "sandbox"
    shutil.copytree(SANDBOX, inventory)
    with_party(inventory, 10001)

    emulator.clear_requests()
    added = run_playbook("deploy_federation", kube, emulator, *FAST, inventory=inventory)
    assert added.returncode == 0, added.stdout[-4000:]
    assert writes(emulator) == [("POST", "/v1", "fate-10001"), ("PUT", "/v1", "fate-exchange")]
    exchange = stored_cluster(emulator, "fate-exchange")["Spec"]
    assert sorted(p["partyId"] for p in exchange["rollsite"]["partyList"]) == [9999, 10000, 10001]
    assert "4 clusters, 2 changed by this run" in added.stdout
    assert re.search(r"touched: fate-exchange \(update: rollsite\.partyList\S*\); fate-10001 \(install\)", added.stdout)

    emulator.clear_requests()
    removed = run_playbook("remove_party", kube, emulator, *FAST, "-e", "fate_remove_party=10001", inventory=inventory)
    assert removed.returncode == 0, removed.stdout[-4000:]
    methods = sorted(
        (r["method"], r["body"].get("name") if isinstance(r["body"], dict) else None) for r in emulator.writes()
    )
    assert methods == [("DELETE", None), ("PUT", "fate-exchange")], methods
    exchange = stored_cluster(emulator, "fate-exchange")["Spec"]
    assert sorted(p["partyId"] for p in exchange["rollsite"]["partyList"]) == [9999, 10000]
    status, body = emulator.api("GET", "/v1/cluster/")
    assert status == 200, body
    assert sorted(c["name"] for c in body["data"] if c["status"] != "Deleted") == [
        "fate-10000",
        "fate-9999",
        "fate-exchange",
    ]
    assert re.search(
        r"touched: fate-exchange \(update: rollsite\.partyList\S*\); fate-10001 \(delete\)", removed.stdout
    )

    # The inventory without the party is what runs now: nothing to change.
    emulator.clear_requests()
    again = run_playbook("deploy_federation", kube, emulator, *FAST)
    assert "touched" not in again.stdout
    assert again.returncode == 0, again.stdout[-4000:]
    assert emulator.writes() == []


def test_unknown_party_is_refused(standins):
    kube, emulator = standins
    emulator.clear_requests()
    proc = run_playbook("remove_party", kube, emulator, *FAST, "-e", "fate_remove_party=4242")
    assert proc.returncode != 0
    assert "fate_remove_party=4242: no party with this ID in the inventory (parties: 10000, 9999)" in proc.stdout
    assert emulator.writes() == []
