"""The model reproduces KubeFATE's own example cluster.yaml files (routing and modules, not cosmetics).

The inventory is the one the examples describe: party 9999 on node 192.168.9.1 and party 10000 on node
192.168.10.1, each with FATE-Serving, their NodePort blocks pinned with ``fate_node_port_base`` (30090 and
30100: the allocation's offsets inside a block are the examples' layout, so pinning the block is enough),
and an exchange (block 30000, the allocator's preference). The party examples are mesh (partyList /
route_table of the peer), the exchange examples star.

Documented exceptions:

* ``v2.0.0-party-*/cluster.yaml`` and ``cluster-gpu.yaml`` still say ``rollsite`` and ``federation: Eggroll``
  with ``chartVersion: v2.0.0``; the v2.0.0 chart has no ``rollsite`` module (contract 4.5), so the model
  writes ``osx``/``OSX``. Their ``rollsite`` routes are compared with our ``osx`` routes, and the modules and
  engines are compared with ``v2.0.0-cluster.yaml`` (the osx example).
* The serving examples set no ``servingProxy.exchange``; the chart then keeps its values.yaml placeholder
  default route ``192.168.0.1:30100``. The model points it at the local ``serving-proxy:8869`` (the
  template's own no-exchange default) and this key is not compared.
* The Spark examples set no ``nginx.exchange``; charts v1.9 - v1.11 then keep the values.yaml placeholder
  ``192.168.10.1:30003`` as nginx's default proxy. In mesh mode the model sets it to the local
  ``nginx:9300/9310`` (chart v2.0.0's default); not compared.
* Ingress host names (``party9999.fateboard.example.com`` vs ``9999.fateboard.example.com``), credentials
  and the cache settings of serving-server are cosmetic and not compared.
"""

from pathlib import Path

import pytest
import yaml
from federation_inventory import example_federation, plan_of, spec

EXAMPLES = Path(__file__).resolve().parents[4].parent / "shared" / "kubefate" / "examples"
pytestmark = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason="KubeFATE examples not found at ../shared/kubefate/examples"
)

PARTIES = (9999, 10000)
BACKEND_FILES = {
    "eggroll": "cluster.yaml",
    "spark_rabbitmq": "cluster-spark-rabbitmq.yaml",
    "spark_pulsar": "cluster-spark-pulsar.yaml",
    "spark_local_pulsar": "cluster-spark-local-pulsar.yaml",
}


def example(path):
    return yaml.safe_load((EXAMPLES / path).read_text())


def keyed(table):
    """Route tables with string keys (the examples use int keys, JSON round trips use strings)."""
    return {str(k): v for k, v in (table or {}).items()}


def by_party(items):
    return sorted(items or [], key=lambda e: int(e["partyId"]))


def ports(section, *keys):
    return {k: section.get(k) for k in keys}


@pytest.mark.parametrize("backend", sorted(BACKEND_FILES))
@pytest.mark.parametrize("party", PARTIES)
def test_party_examples(backend, party):
    ours = spec(plan_of(example_federation("mesh", backend)), f"fed-fate-{party}")
    theirs = example(f"v2.0.0-party-{party}/{BACKEND_FILES[backend]}")
    for key in ("name", "namespace", "chartName", "chartVersion", "partyId", "computing", "storage", "algorithm"):
        assert ours[key] == theirs[key], key
    assert ours["ingressClassName"] == theirs["ingressClassName"]
    assert ours["persistence"] is theirs["persistence"] is False
    assert ours["python"] == ports(theirs["python"], "type", "httpNodePort", "grpcNodePort")
    assert (ours["servingIp"], ours["servingPort"]) == (theirs["servingIp"], theirs["servingPort"])
    if backend == "eggroll":
        # exception: the example keeps rollsite/Eggroll with chart v2.0.0; compare its routes with osx
        assert theirs["federation"] == "Eggroll" and "rollsite" in theirs["modules"]
        assert ours["federation"] == "OSX"
        assert ours["modules"] == ["osx" if m == "rollsite" else m for m in theirs["modules"]]
        assert ours["osx"]["type"] == theirs["rollsite"]["type"]
        assert ours["osx"]["nodePort"] == theirs["rollsite"]["nodePort"]
        assert by_party(ours["osx"]["partyList"]) == by_party(theirs["rollsite"]["partyList"])
        assert "exchange" not in ours["osx"]
        return
    assert ours["federation"] == theirs["federation"]
    assert sorted(ours["modules"]) == sorted(theirs["modules"])
    assert ports(ours["nginx"], "type", "httpNodePort", "grpcNodePort") == ports(
        theirs["nginx"], "type", "httpNodePort", "grpcNodePort"
    )
    assert keyed(ours["nginx"]["route_table"]) == keyed(theirs["nginx"]["route_table"])
    # exception: the default proxy is pinned to the local nginx (see module docstring)
    assert ours["nginx"]["exchange"] == {"ip": "nginx", "httpPort": 9300, "grpcPort": 9310}
    engine = "rabbitmq" if "rabbitmq" in backend else "pulsar"
    assert keyed(ours[engine]["route_table"]) == keyed(theirs[engine]["route_table"])
    if engine == "pulsar":
        assert ports(ours["pulsar"], "type", "httpNodePort", "httpsNodePort", "publicLB") == ports(
            theirs["pulsar"], "type", "httpNodePort", "httpsNodePort", "publicLB"
        )
        assert "exchange" not in ours["pulsar"]
    else:
        assert ports(ours["rabbitmq"], "type", "nodePort") == ports(theirs["rabbitmq"], "type", "nodePort")


def test_eggroll_modules_match_the_osx_example():
    ours = spec(plan_of(example_federation("mesh", "eggroll")), "fed-fate-9999")
    theirs = example("v2.0.0-cluster.yaml")
    assert ours["modules"] == theirs["modules"]
    for key in ("name", "namespace", "chartName", "chartVersion", "partyId", "computing", "federation", "storage"):
        assert ours[key] == theirs[key], key


@pytest.mark.parametrize("party", PARTIES)
def test_gpu_example(party):
    hv = example_federation("mesh", "eggroll")
    hv[f"fed-fate-{party}"]["fate_gpu"] = {"enabled": True, "count": 1}
    ours = spec(plan_of(hv), f"fed-fate-{party}")
    theirs = example(f"v2.0.0-party-{party}/cluster-gpu.yaml")
    assert (ours["algorithm"], ours["device"]) == (theirs["algorithm"], theirs["device"]) == ("NN", "GPU")
    assert ours["python"]["resources"] == theirs["python"]["resources"]
    assert by_party(ours["osx"]["partyList"]) == by_party(theirs["rollsite"]["partyList"])


@pytest.mark.parametrize("party", PARTIES)
def test_serving_examples(party):
    ours = spec(plan_of(example_federation("mesh", "eggroll")), f"fed-serving-{party}")
    theirs = example(f"v2.0.0-party-{party}/cluster-serving.yaml")
    for key in ("name", "namespace", "chartName", "chartVersion", "partyId", "modules"):
        assert ours[key] == theirs[key], key
    assert ports(ours["servingProxy"], "type", "nodePort") == ports(theirs["servingProxy"], "type", "nodePort")
    assert by_party(ours["servingProxy"]["partyList"]) == by_party(theirs["servingProxy"]["partyList"])
    server = theirs["servingServer"]
    assert ports(ours["servingServer"], "type", "nodePort", "fateflow") == ports(server, "type", "nodePort", "fateflow")
    # exception: the model neutralises the chart's placeholder default route (see module docstring)
    assert ours["servingProxy"]["exchange"] == {"ip": "serving-proxy", "port": 8869}


def test_rollsite_exchange_example():
    plan = plan_of(example_federation("star", "eggroll", version="1.11.2"))
    ours = spec(plan, "fed-exchange")
    theirs = example("v2.0.0-party-exchange/rollsite.yaml")
    for key in ("name", "namespace", "chartName", "chartVersion", "partyId", "modules"):
        assert ours[key] == theirs[key], key
    assert ports(ours["rollsite"], "type", "nodePort", "enableTLS") == ports(
        theirs["rollsite"], "type", "nodePort", "enableTLS"
    )
    assert by_party(ours["rollsite"]["partyList"]) == by_party(theirs["rollsite"]["partyList"])
    # the parties of that exchange: rollsite with the exchange as default route and no partyList
    party = spec(plan, "fed-fate-9999")
    assert party["rollsite"] == {
        "type": "NodePort",
        "nodePort": 30091,
        "exchange": {"ip": "192.168.0.1", "port": 30000},
    }
    # and the same exchange file for v1.11.2 (the examples are identical)
    assert example("v1.11.2/exchange-rollsite.yaml")["rollsite"] == theirs["rollsite"]


def test_traffic_server_exchange_example():
    plan = plan_of(example_federation("star", "spark_pulsar"))
    ours = spec(plan, "fed-exchange")
    theirs = example("v2.0.0-party-exchange/trafficServer.yaml")
    for key in ("name", "namespace", "chartName", "chartVersion", "partyId"):
        assert ours[key] == theirs[key], key
    assert sorted(ours["modules"]) == sorted(theirs["modules"])
    assert ports(ours["trafficServer"], "type", "nodePort") == ports(theirs["trafficServer"], "type", "nodePort")
    fqdn = sorted(ours["trafficServer"]["route_table"]["sni"], key=lambda e: e["fqdn"])
    assert fqdn == sorted(theirs["trafficServer"]["route_table"]["sni"], key=lambda e: e["fqdn"])
    assert ports(ours["nginx"], "type", "httpNodePort", "grpcNodePort") == ports(
        theirs["nginx"], "type", "httpNodePort", "grpcNodePort"
    )
    theirs_table = {
        k: {s: [dict(e, host=str(e["host"]).strip()) for e in v] for s, v in t.items()}
        for k, t in keyed(theirs["nginx"]["route_table"]).items()
    }
    assert keyed(ours["nginx"]["route_table"]) == theirs_table
    # the parties behind it: ATS exchange for pulsar, exchange nginx as default proxy, no peer routes
    party = spec(plan, "fed-fate-10000")
    assert party["pulsar"]["exchange"] == {"ip": "192.168.0.1", "port": 30000, "domain": "fate.org"}
    assert party["pulsar"]["route_table"] == {10000: {"host": "pulsar", "port": 6650, "sslPort": 6651}}
    assert party["nginx"]["exchange"] == {"ip": "192.168.0.1", "httpPort": 30003, "grpcPort": 30008}
    assert "route_table" not in party["nginx"]
