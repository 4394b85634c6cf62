"""An offline federation: charts from a URL on the controller's side, every image from a private registry.

The chart package is served by a local HTTP server (an internal artifact store) and named in ``fate_charts``;
the registry prefix and its credentials come from the inventory, for the FATE clusters and the KubeFATE server.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import shutil
import threading

import pytest
import yaml
from ansible_run import CHARTS, SANDBOX, run_playbook, stored_cluster
from kube_fake.testing import run_kube_fake
from kubefate_emulator.testing import run_emulator

pytestmark = pytest.mark.skipif(not CHARTS.is_dir(), reason="reference KubeFATE charts (../shared) absent")
PASSWORD = "sandbox-demo-only"
REGISTRY = "registry.example.org"
REGISTRY_PASSWORD = "registry-pw-offline"


@pytest.fixture
def artifact_store():
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(CHARTS))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_offline_charts_and_private_registry(tmp_path, artifact_store):
    inventory = tmp_path / "sandbox"
    shutil.copytree(SANDBOX, inventory)
    group_vars = inventory / "group_vars" / "sandbox.yml"
    data = yaml.safe_load(group_vars.read_text())
    data["fate_registry"] = f"{REGISTRY}/federatedai"
    data["fate_image_pull_secrets"] = ["regcred"]
    data["fate_registry_credentials"] = {"server": REGISTRY, "username": "robot", "password": REGISTRY_PASSWORD}
    data["fate_charts"] = {"fate-v2.0.0": f"{artifact_store}/fate-v2.0.0.tgz"}
    data["fate_chart_cache"] = str(tmp_path / "cache")
    data["fate_chart_dir"] = ""  # the exchange's chart comes from KubeFATE's repository, FATE 2.0.0's from the URL
    kubefate = data["fate_kube_clusters"]["sandbox"]["kubefate"]
    kubefate["registry"] = f"{REGISTRY}/"
    kubefate["image_pull_secrets"] = ["regcred"]
    group_vars.write_text(yaml.safe_dump(data))

    with run_kube_fake() as kube, run_emulator(password=PASSWORD, job_seconds=1) as emulator:
        proc = run_playbook("deploy_federation", kube, emulator, "-e", "fate_wait_sleep=1", inventory=inventory)
        assert proc.returncode == 0, proc.stdout[-4000:]
        uploads = [r for r in emulator.writes() if r["path"] == "/v1/chart"]
        assert len(uploads) == 1, uploads
        assert (tmp_path / "cache" / "fate-v2.0.0.tgz").read_bytes() == (CHARTS / "fate-v2.0.0.tgz").read_bytes()

        spec = stored_cluster(emulator, "fate-9999")["Spec"]
        assert spec["registry"].startswith(REGISTRY)
        assert spec["imagePullSecrets"] == [{"name": "regcred"}]
        for namespace in ("fate-9999", "fate-10000", "fate-exchange", "kube-fate"):
            secret = kube.get("Secret", "regcred", namespace)
            assert secret["type"] == "kubernetes.io/dockerconfigjson", namespace
            config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
            assert config["auths"][REGISTRY]["password"] == REGISTRY_PASSWORD
        server = kube.get("Deployment", "kubefate", "kube-fate")["spec"]["template"]["spec"]
        assert server["containers"][0]["image"].startswith(f"{REGISTRY}/")
        assert server["imagePullSecrets"] == [{"name": "regcred"}]
        assert REGISTRY_PASSWORD not in proc.stdout

        emulator.clear_requests()
        again = run_playbook("deploy_federation", kube, emulator, "-e", "fate_wait_sleep=1", inventory=inventory)
        assert again.returncode == 0, again.stdout[-4000:]
        assert emulator.writes() == []
