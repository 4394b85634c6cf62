"""Properties of generated federations (hypothesis) and the 1000-party scale budget."""

import os
import time

from ansible_collections.fateops.kubefate.plugins.module_utils.federation import (
    BLOCK_COUNT,
    NODE_PORT_MAX,
    NODE_PORT_MIN,
    build_plan,
)
from federation_inventory import federation
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

BACKENDS = ("eggroll", "spark_rabbitmq", "spark_pulsar", "spark_local_pulsar", "spark_local_rabbitmq")
SECRETS = {"fate_mysql_password": "m", "fate_fateboard_password": "b", "fate_serving_admin_password": "a"}

# Party ids: some random, some congruent modulo 275 so that preferred NodePort blocks collide and probe.
party_ids = st.sets(
    st.one_of(st.integers(1, 20000), st.builds(lambda k, r: k * 275 + r, st.integers(0, 40), st.integers(1, 4))),
    min_size=1,
    max_size=10,
)


@st.composite
def federations(draw, min_parties=1):
    ids = sorted(draw(party_ids))
    assume(len(ids) >= min_parties)
    backend = draw(st.sampled_from(BACKENDS))
    topology = "mesh" if "rabbitmq" in backend else draw(st.sampled_from(("mesh", "star")))
    version = draw(st.sampled_from(("1.9.2", "1.11.2", "2.0.0")))
    kubes = draw(st.integers(1, 3))
    serving = draw(st.sets(st.sampled_from(ids)))
    access = draw(
        st.lists(
            st.sampled_from(("NodePort", "NodePort", "LoadBalancer", "Ingress")), min_size=len(ids), max_size=len(ids)
        )
    )
    per_party = {}
    for pid, kind in zip(ids, access, strict=True):
        address = f"10.1.{pid // 256 % 256}.{pid % 256}" if kind != "Ingress" else f"party{pid}.example.org"
        per_party[pid] = {"fate_access": {"type": kind, "address": address}}
    hv = federation(
        ids,
        topology=topology,
        backend=backend,
        version=version,
        serving=tuple(serving),
        serving_exchange=topology == "star" and draw(st.booleans()),
        kube=lambda pid: f"k{(pid or 0) % kubes}",
        common=SECRETS,
        per_party=per_party,
    )
    return hv


#: FEDERATION_EXAMPLES=600 pytest ... for a deeper run
PROPERTY_SETTINGS = settings(
    max_examples=int(os.environ.get("FEDERATION_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def fate_clusters(plan):
    return {c["party_id"]: c for c in plan["clusters"].values() if c["deployment"] == "fate"}


def addr(endpoint):
    return endpoint["host"], endpoint["port"]


@PROPERTY_SETTINGS
@given(federations())
def test_routes(hv):
    plan = build_plan(hv)
    assert plan["errors"] == []
    parties = fate_clusters(plan)
    fed = next(iter(plan["federations"].values()))
    assert fed["parties"] == sorted(parties)
    exchange = plan["clusters"].get("fed-exchange")
    for pid, cluster in parties.items():
        spec = cluster["cluster_yaml"]
        peers = {p: c for p, c in parties.items() if p != pid}
        if cluster["backend"] == "eggroll":
            gateway = "osx" if "osx" in spec["modules"] else "rollsite"
            routes = {e["partyId"]: (e["partyIp"], e["partyPort"]) for e in spec[gateway].get("partyList", [])}
            assert pid not in routes  # never routes to itself through a peer
            if fed["topology"] == "mesh":
                # every peer reachable at exactly the address it publishes (hence symmetric)
                assert routes == {p: addr(c["endpoints"][gateway]) for p, c in peers.items()}
            else:
                ex = addr(exchange["endpoints"]["rollsite"])
                assert spec[gateway]["exchange"] == {"ip": ex[0], "port": ex[1]}
                assert routes == ({p: ex for p in peers} if gateway == "osx" else {})
        else:
            engine = "pulsar" if "pulsar" in spec["modules"] else "rabbitmq"
            table = spec[engine]["route_table"]
            assert table[pid]["host"] == engine  # own party: the local broker
            nginx = spec["nginx"].get("route_table", {})
            assert pid not in nginx
            if fed["topology"] == "mesh":
                assert set(table) == set(parties)
                assert set(nginx) == set(peers)
                for p, c in peers.items():
                    assert (table[p]["host"], table[p]["port"]) == addr(c["endpoints"][engine])
                    ep = c["endpoints"]
                    assert nginx[p]["fateflow"] == [
                        {
                            "host": ep["nginx_http"]["host"],
                            "http_port": ep["nginx_http"]["port"],
                            "grpc_port": ep["nginx_grpc"]["port"],
                        }
                    ]
                assert spec["nginx"]["exchange"]["ip"] == "nginx"
            else:
                assert set(table) == {pid} and nginx == {}
                assert spec["pulsar"]["exchange"]["ip"] == exchange["endpoints"]["traffic_server"]["host"]
        serving = plan["clusters"].get(f"fed-serving-{pid}")
        if serving is not None:
            assert (spec["servingIp"], spec["servingPort"]) == addr(serving["endpoints"]["serving_server"])
            fateflow = serving["cluster_yaml"]["servingServer"]["fateflow"]
            assert (fateflow["ip"], fateflow["port"]) == addr(cluster["endpoints"]["fateflow_http"])
        else:
            assert "servingIp" not in spec
    if exchange is not None and fed["topology"] == "star":
        spec = exchange["cluster_yaml"]
        if "rollsite" in spec["modules"]:
            listed = {e["partyId"]: (e["partyIp"], e["partyPort"]) for e in spec["rollsite"]["partyList"]}
            gateway = "osx" if any("osx" in c["cluster_yaml"]["modules"] for c in parties.values()) else "rollsite"
            assert listed == {p: addr(c["endpoints"][gateway]) for p, c in parties.items()}
        else:
            sni = {e["fqdn"]: e["tunnelRoute"] for e in spec["trafficServer"]["route_table"]["sni"]}
            assert sni == {
                f"{p}.fate.org": "{}:{}".format(*addr(c["endpoints"]["pulsar_tls"])) for p, c in parties.items()
            }
            assert set(spec["nginx"]["route_table"]) == set(parties)
    serving_hosts = {c["party_id"]: c for c in plan["clusters"].values() if c["deployment"] == "serving"}
    for pid, cluster in serving_hosts.items():
        proxy = cluster["cluster_yaml"]["servingProxy"]
        listed = {e["partyId"] for e in proxy.get("partyList", [])}
        if fed["serving_exchange"] and fed["topology"] == "star":
            assert listed == set()
        else:
            assert listed == set(serving_hosts) - {pid}


@PROPERTY_SETTINGS
@given(federations())
def test_node_ports_unique_in_range_and_consistent(hv):
    plan = build_plan(hv)
    assert plan["errors"] == []
    seen = {}
    for host, cluster in plan["clusters"].items():
        for name, port in cluster["node_ports"].items():
            assert NODE_PORT_MIN <= port <= NODE_PORT_MAX
            key = (cluster["kube_cluster"], port)
            assert key not in seen, f"port {key} used by {seen.get(key)} and {host}/{name}"
            seen[key] = (host, name)
        spec = cluster["cluster_yaml"]
        if cluster["access_type"] == "Ingress":
            assert cluster["node_ports"] == {}
        else:
            # what the chart gets is what the plan publishes
            published = {
                "osx": spec.get("osx", {}).get("nodePort"),
                "fateflow_http": spec.get("python", {}).get("httpNodePort"),
                "serving_proxy": spec.get("servingProxy", {}).get("nodePort"),
            }
            for name, port in published.items():
                if name in cluster["node_ports"]:
                    assert port == cluster["node_ports"][name]


def preferred_block(cluster):
    if cluster["deployment"] in ("exchange", "serving_exchange"):
        return 0
    return 1 + (cluster["party_id"] - 1) % (BLOCK_COUNT - 1)


def block_of(cluster):
    ports = list(cluster["node_ports"].values())
    return (ports[0] - NODE_PORT_MIN) // 10 if ports else None


@PROPERTY_SETTINGS
@given(federations(), st.integers(1, 30000), st.booleans())
def test_ports_are_stable_when_a_party_is_added(hv, new_id, largest):
    before = build_plan(hv)
    ids = sorted(before["federations"]["fed"]["parties"])
    new_id = max(ids) + new_id if largest else new_id
    assume(new_id not in ids)
    template = dict(hv[f"fed-fate-{ids[0]}"])
    template.update(fate_party_id=new_id, fate_access={"type": "NodePort", "address": "10.9.9.9"})
    template.pop("fate_node_port_base", None)
    grown = dict(hv, **{f"fed-fate-{new_id}": template})
    after = build_plan(grown)
    assert after["errors"] == []
    new = after["clusters"][f"fed-fate-{new_id}"]
    new_pref = preferred_block({"deployment": "fate", "party_id": new_id})
    for host, cluster in before["clusters"].items():
        if not cluster["node_ports"] or block_of(cluster) != preferred_block(cluster):
            continue  # no NodePorts, or it had probed (the warning told to pin it): may move
        contested = (
            new_pref == preferred_block(cluster)
            and new_id < (cluster["party_id"] if cluster["deployment"] in ("fate", "serving") else 0)
            and new["kube_cluster"] == cluster["kube_cluster"]
        )
        if not contested:
            assert after["clusters"][host]["node_ports"] == cluster["node_ports"], host
    if not any("preferred NodePort block" in w for w in before["warnings"] + after["warnings"]):
        # nobody probed: every block is a function of its owner's id only
        assert all(after["clusters"][h]["node_ports"] == c["node_ports"] for h, c in before["clusters"].items())


def test_stability_example_with_probing_and_pinning():
    """Adding a party can move one that had probed; pinning its block (as the warning says) prevents it."""
    hv = federation((1, 551))  # 551 prefers block 1 too -> probes to block 2
    first = build_plan(hv)
    assert first["clusters"]["fed-fate-551"]["node_ports"]["osx"] == 30021
    grown = dict(
        hv, **{"fed-fate-276": dict(hv["fed-fate-1"], fate_party_id=276, fate_access={"address": "10.0.1.20"})}
    )
    assert build_plan(grown)["clusters"]["fed-fate-551"]["node_ports"]["osx"] == 30031  # moved by 276
    grown["fed-fate-551"]["fate_node_port_base"] = 30020
    pinned = build_plan(grown)
    assert pinned["errors"] == []
    assert pinned["clusters"]["fed-fate-551"]["node_ports"]["osx"] == 30021
    assert pinned["clusters"]["fed-fate-276"]["node_ports"]["osx"] == 30031


def test_scale_1000_parties(capsys):
    hv = federation(
        range(1, 1001),
        topology="star",
        serving=range(1, 1001, 10),
        kube=lambda pid: f"k{(pid or 0) % 5}",
        common=SECRETS,
    )
    star_start = time.perf_counter()
    star = build_plan(hv)
    star_time = time.perf_counter() - star_start
    assert star["errors"] == []
    assert len(star["clusters"]) == 1000 + 100 + 1
    assert len(star["clusters"]["fed-exchange"]["cluster_yaml"]["rollsite"]["partyList"]) == 1000
    mesh_hv = federation(
        range(1, 1001),
        topology="mesh",
        backend="spark_pulsar",
        kube=lambda pid: f"k{(pid or 0) % 5}",
        common=SECRETS,
    )
    mesh_start = time.perf_counter()
    mesh = build_plan(mesh_hv)
    mesh_time = time.perf_counter() - mesh_start
    assert mesh["errors"] == []
    assert len(mesh["clusters"]["fed-fate-1"]["cluster_yaml"]["pulsar"]["route_table"]) == 1000
    with capsys.disabled():
        print(
            f"\n1000 parties: star eggroll 2.0.0 + 100 serving {star_time:.3f} s, mesh spark_pulsar {mesh_time:.3f} s"
        )
    assert star_time < 2.0
    assert mesh_time < 2.0


def test_block_count_covers_the_node_port_range():
    assert BLOCK_COUNT == 276
    assert NODE_PORT_MIN + BLOCK_COUNT * 10 - 1 <= NODE_PORT_MAX
