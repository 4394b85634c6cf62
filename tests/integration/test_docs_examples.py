"""The worked inventories of docs/inventory-reference.md: each one passes the deploy preflight and renders.

Every ``docs/examples/<name>/hosts.yml`` goes through ``ansible-playbook`` with a play that does what
deploy_federation's preflight and render_federation do (``federation_plan`` and ``kube_cluster_plan`` with no
error and no warning, then every cluster.yaml), all examples in parallel. The cluster.yaml files are checked for
the topology and backend the example claims, and rendered through the real KubeFATE charts when ../shared has
them. The markdown must show each file exactly as it is on disk.
"""

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from ansible_collections.fateops.kubefate.plugins.module_utils import federation, servers
from test_render_federation import render_with_charts

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
REFERENCE = ROOT / "docs" / "inventory-reference.md"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"

pytestmark = pytest.mark.skipif(
    not ANSIBLE_PLAYBOOK.exists(), reason=f"ansible-playbook not installed beside {sys.executable}"
)

# What each example deploys: hosts, the federation engine of chart fate, and whether it goes through an exchange.
EXPECTED = {
    "eggroll-mesh": ({"fate-9999", "fate-10000"}, "OSX", False),
    "eggroll-star": ({"fate-9999", "fate-10000", "fate-exchange"}, "Eggroll", True),
    "spark-rabbitmq-mesh": ({"fate-9999", "fate-10000"}, "RabbitMQ", False),
    "spark-pulsar-mesh": ({"fate-9999", "fate-10000"}, "Pulsar", False),
    "spark-pulsar-star": ({"fate-9999", "fate-10000", "fate-exchange"}, "Pulsar", True),
    "spark-local-pulsar-mesh": ({"fate-9999", "fate-10000"}, "Pulsar", False),
    "spark-local-pulsar-star": ({"fate-9999", "fate-10000", "fate-exchange"}, "Pulsar", True),
    "serving-star": (
        {
            "fate-9999",
            "fate-10000",
            "fate-exchange",
            "fate-serving-9999",
            "fate-serving-10000",
            "fate-serving-exchange",
        },
        "Eggroll",
        True,
    ),
}

# deploy_federation's preflight (federation_plan and kube_cluster_plan, neither errors nor warnings), then what
# render_federation writes, as one JSON file (host -> cluster.yaml): every task runs once, so each example costs
# one ansible-playbook start-up.
PLAY = """\
- name: Preflight and render of a documented example
  hosts: all
  gather_facts: false
  tasks:
    - name: Compute the federation plan
      ansible.builtin.set_fact:
        example_plan: "{{ hostvars | fateops.kubefate.federation_plan(groups['all']) }}"
      run_once: true
    - name: Describe the Kubernetes clusters
      ansible.builtin.set_fact:
        example_kube: "{{ example_plan | fateops.kubefate.kube_cluster_plan(fate_kube_clusters | default({})) }}"
      run_once: true
    - name: No error and no warning
      vars:
        example_findings: >-
          {{ example_plan.errors + example_plan.warnings + example_kube.errors + example_kube.warnings }}
      ansible.builtin.assert:
        that: example_findings | length == 0
        fail_msg: "PREFLIGHT {{ example_findings }}"
      run_once: true
    - name: Write every cluster.yaml
      vars:
        example_hosts: "{{ example_plan.clusters | list }}"
      ansible.builtin.copy:
        content: >-
          {{ dict(example_hosts | zip(example_hosts | map('extract', example_plan.clusters, 'cluster_yaml')))
             | to_json }}
        dest: "{{ example_out }}"
        mode: "0600"
      run_once: true
"""


def example_names():
    return sorted(path.parent.name for path in EXAMPLES.glob("*/hosts.yml"))


def run_example(name, base):
    tmp = base / name / "tmp"
    tmp.mkdir(parents=True)
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(base / "collections"),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_HOME=str(tmp / "home"),
        ANSIBLE_LOCAL_TEMP=str(tmp),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        TMPDIR=str(tmp),
        KUBEFATE_PASSWORD="docs-example-only",  # what the examples read with lookup('env', ...)
    )
    command = [
        str(ANSIBLE_PLAYBOOK),
        str(base / "play.yml"),
        "-i",
        str(EXAMPLES / name),
        "-e",
        f"example_out={base / name / 'clusters.json'}",
    ]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every example run once, four at a time (ansible-playbook start-up dominates)."""
    base = tmp_path_factory.mktemp("examples")
    link = base / "collections" / "ansible_collections" / "fateops"
    link.mkdir(parents=True)
    (link / "kubefate").symlink_to(ROOT)
    (base / "play.yml").write_text(PLAY)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(example_names(), pool.map(lambda n: run_example(n, base), example_names()), strict=True))
    return base, results


def test_every_example_is_expected():
    assert example_names() == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_passes_preflight_and_renders(runs, name):
    base, results = runs
    result = results[name]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    hosts, federation_engine, star = EXPECTED[name]
    files = json.loads((base / name / "clusters.json").read_text())
    assert set(files) == hosts
    parties = {host: spec for host, spec in files.items() if spec["chartName"] == "fate"}
    assert {spec["federation"] for spec in parties.values()} == {federation_engine}
    for host, spec in parties.items():
        peers, via_exchange = routes(spec)
        other = ({9999, 10000} - {spec["partyId"]}).pop()
        assert (other not in peers and via_exchange) if star else (other in peers and not via_exchange), (host, peers)
    if star:
        assert {9999, 10000} <= routes(files["fate-exchange"])[0]
    # Through the real charts: one cluster of each chart (the two parties of an example differ only in ids).
    chart_dir = base / name / "charts"
    chart_dir.mkdir()
    for host in ("fate-9999", "fate-exchange", "fate-serving-9999", "fate-serving-exchange"):
        if host in files:
            (chart_dir / f"{host}.yaml").write_text(yaml.safe_dump(files[host]))
    render_with_charts(sorted(chart_dir.glob("*.yaml")))


def routes(spec):
    """(party ids this cluster.yaml routes to, whether it routes through an exchange), whatever the backend."""
    peers, via_exchange = set(), False
    for section in ("osx", "rollsite", "pulsar", "rabbitmq", "nginx"):
        block = spec.get(section) or {}
        peers.update(entry["partyId"] for entry in block.get("partyList") or [])
        peers.update(int(party) for party in block.get("route_table") or {} if str(party).isdigit())
        exchange = block.get("exchange") or {}
        via_exchange |= exchange.get("ip") not in (None, "nginx", "pulsar", "rabbitmq")  # not the party's own service
    sni = ((spec.get("trafficServer") or {}).get("route_table") or {}).get("sni") or []
    peers.update(int(entry["fqdn"].split(".")[0]) for entry in sni)
    return peers - {spec["partyId"]}, via_exchange


def test_reference_shows_every_example_as_it_is_on_disk():
    text = REFERENCE.read_text()
    blocks = dict(re.findall(r"```yaml\n# file: docs/examples/([\w-]+)/hosts\.yml\n(.*?)```", text, flags=re.S))
    assert sorted(blocks) == example_names()
    for name, body in blocks.items():
        assert body == (EXAMPLES / name / "hosts.yml").read_text(), f"docs/inventory-reference.md shows an old {name}"


def test_reference_documents_every_variable():
    text = REFERENCE.read_text()
    variables = federation.KNOWN_VARIABLES | federation.PLAYBOOK_VARIABLES | {"fate_render_hosts"}
    assert sorted(name for name in variables if f"`{name}`" not in text) == []
    keys = [key for key, value in servers.DEFAULTS.items() if not isinstance(value, dict)]
    keys += [f"{section}.{key}" for section in ("ingress", "kubefate") for key in servers.DEFAULTS[section]]
    assert sorted(key for key in keys if f"`{key}`" not in text) == []
    (mariadb,) = [line for line in text.splitlines() if line.startswith("| `kubefate.mariadb`")]
    assert sorted(key for key in servers.DEFAULTS["kubefate"]["mariadb"] if key not in mariadb) == []
    endpoints = re.search(r"Endpoints \(for `fate_node_ports`.*?\n\n", text, flags=re.S).group(0)
    assert sorted(name for name in federation.ENDPOINT_NAMES if f"`{name}`" not in endpoints) == []
