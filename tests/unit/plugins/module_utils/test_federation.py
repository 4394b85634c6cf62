"""The federation model: API fields, registry, access types, settings, overrides and prerequisites."""

import copy

import pytest
from ansible_collections.fateops.kubefate.plugins.module_utils.federation import (
    FederationError,
    build_plan,
    cluster_yaml,
    deep_merge,
    normalise_registry,
)
from federation_inventory import federation, plan_of, spec


def test_api_fields_match_the_cluster_yaml():
    plan = plan_of(federation(topology="star", serving=(9999,), serving_exchange=True))
    expected = {
        "fed-fate-9999": ("fate-9999", "fate-9999", "fate", "v2.0.0", 9999, "fate"),
        "fed-serving-9999": ("fate-serving-9999", "fate-serving-9999", "fate-serving", "v2.1.6", 9999, "serving"),
        "fed-exchange": ("fate-exchange", "fate-exchange", "fate-exchange", "v1.11.2", 1, "exchange"),
        "fed-serving-exchange": (
            "fate-serving-exchange",
            "fate-serving-exchange",
            "fate-serving",
            "v2.1.6",
            1,
            "serving_exchange",
        ),
    }
    for host, (name, namespace, chart, version, party, kind) in expected.items():
        cluster = plan["clusters"][host]
        body = cluster["cluster_yaml"]
        assert (cluster["name"], cluster["namespace"], cluster["chart_name"], cluster["chart_version"]) == (
            name,
            namespace,
            chart,
            version,
        )
        assert (body["name"], body["namespace"], body["chartName"], body["chartVersion"], body["partyId"]) == (
            name,
            namespace,
            chart,
            version,
            party,
        )
        assert cluster["party_id"] == party and cluster["deployment"] == kind and cluster["kube_cluster"] == "default"
        assert cluster["host"] == host and isinstance(cluster["warnings"], list)
    assert plan["federations"]["fed"] == {
        "name": "fed",
        "topology": "star",
        "engine": "eggroll",
        "fate_versions": ["2.0.0"],
        "parties": [9999, 10000],
        "serving_parties": [9999],
        "exchange": "fed-exchange",
        "serving_exchange": "fed-serving-exchange",
        "hosts": sorted(plan["clusters"]),
        "kube_clusters": ["default"],
    }


def test_names_namespaces_and_chart_versions_can_be_set():
    hv = federation((9999,))
    hv["fed-fate-9999"].update(
        fate_namespace="team-a", fate_cluster_name="fl-a", fate_version="1.11.1", fate_chart_version="v1.11.2"
    )
    cluster = plan_of(hv)["clusters"]["fed-fate-9999"]
    assert (cluster["name"], cluster["namespace"], cluster["chart_version"]) == ("fl-a", "team-a", "v1.11.2")
    assert cluster["cluster_yaml"]["rollsite"]["type"] == "NodePort"  # chart < v2.0.0: rollsite


@pytest.mark.parametrize(
    ("registry", "chart", "version", "expected"),
    [
        (None, "fate", "v2.0.0", ""),
        ("federatedai", "fate", "v2.0.0", ""),
        ("harbor.example.com/federatedai", "fate", "v2.0.0", "harbor.example.com/federatedai/"),
        ("harbor.example.com/federatedai/", "fate", "v1.11.2", "harbor.example.com/federatedai"),
        ("harbor.example.com/fate/", "fate-serving", "v2.1.6", "harbor.example.com/fate"),
        ("harbor.example.com", "fate-exchange", "v1.11.2", "harbor.example.com"),
    ],
)
def test_normalise_registry(registry, chart, version, expected):
    assert normalise_registry(registry, chart, version) == expected


def test_registry_for_chart_2_0_0_keeps_the_1_x_image_layout():
    common = {"fate_registry": "harbor.example.com/federatedai/"}
    eggroll = spec(plan_of(federation((9999,), common=common)), "fed-fate-9999")
    # no HDFS: registry without "/" and "/<name>" images (the nodemanager's fluent-bit is "<registry>/fluent-bit")
    assert eggroll["registry"] == "harbor.example.com/federatedai"
    assert (eggroll["osx"]["image"], eggroll["python"]["image"], eggroll["nodemanager"]["image"]) == (
        "/osx",
        "/fateflow",
        "/eggroll",
    )
    assert eggroll["mysql"]["image"] == "/mysql"
    plan = plan_of(federation((9999,), backend="spark_pulsar", common=common))
    spark = spec(plan, "fed-fate-9999")
    assert spark["registry"] == "harbor.example.com/federatedai/"
    assert (spark["spark"]["master"]["image"], spark["pulsar"]["image"]) == ("spark-master", "pulsar")
    assert "image" not in spark.get("hdfs", {})
    assert any("hadoop-namenode" in w for w in plan["warnings"])
    old = spec(plan_of(federation((9999,), version="1.11.2", common=common)), "fed-fate-9999")
    assert old["registry"] == "harbor.example.com/federatedai" and "image" not in old["rollsite"]


def test_access_types_decide_services_and_what_peers_use():
    hv = federation((9999, 10000, 10001), backend="spark_pulsar")
    hv["fed-fate-10000"]["fate_access"] = {"type": "LoadBalancer", "address": "203.0.113.10", "request_ip": True}
    hv["fed-fate-10001"]["fate_access"] = {"type": "Ingress", "address": "party10001.example.org"}
    plan = plan_of(hv)
    lb, ingress = spec(plan, "fed-fate-10000"), spec(plan, "fed-fate-10001")
    assert lb["pulsar"]["type"] == "LoadBalancer" and lb["pulsar"]["loadBalancerIP"] == "203.0.113.10"
    assert lb["pulsar"]["httpNodePort"] == plan["clusters"]["fed-fate-10000"]["node_ports"]["pulsar"]  # still pinned
    assert ingress["pulsar"]["type"] == "ClusterIP" and "httpNodePort" not in ingress["pulsar"]
    assert plan["clusters"]["fed-fate-10001"]["node_ports"] == {}
    table = spec(plan, "fed-fate-9999")["pulsar"]["route_table"]
    assert table[10000] == {"host": "203.0.113.10", "port": 6650, "sslPort": 6651, "proxy": ""}
    assert table[10001] == {"host": "party10001.example.org", "port": 6650, "sslPort": 6651, "proxy": ""}
    assert spec(plan, "fed-fate-9999")["nginx"]["route_table"][10001]["fateflow"] == [
        {"host": "party10001.example.org", "http_port": 9300, "grpc_port": 9310}
    ]
    assert plan["clusters"]["fed-fate-10000"]["endpoints"]["pulsar_tls"] == {
        "host": "203.0.113.10",
        "port": 6651,
        "node_port": 31009,
    }


def test_settings_reach_every_module():
    hv = federation((9999,), backend="spark_pulsar")
    hv["fed-fate-9999"].update(
        fate_node_selector={"pool": "fate"},
        fate_tolerations=[{"key": "k", "operator": "Exists"}],
        fate_persistence=True,
        fate_storage_class="fast",
        fate_resources={
            "python": {"limits": {"cpu": "4"}},
            "spark_worker": {"requests": {"cpu": "2"}},
            "mysql": {"limits": {"cpu": "1"}},
        },
        fate_image_pull_secrets=["a", {"name": "b"}],
        fate_istio=True,
        fate_ingress_class_name="traefik",
        fate_ingress_domain="fl.example.org",
        fate_ingress_hosts={"fateboard": ["board.example.org"]},
    )
    plan = plan_of(hv)
    s = spec(plan, "fed-fate-9999")
    for section in (
        s["python"],
        s["mysql"],
        s["fateboard"],
        s["client"],
        s["nginx"],
        s["pulsar"],
        s["spark"]["master"],
        s["spark"]["worker"],
        s["hdfs"]["namenode"],
        s["hdfs"]["datanode"],
    ):
        assert section["nodeSelector"] == {"pool": "fate"}
        assert section["tolerations"] == [{"key": "k", "operator": "Exists"}]
    for section in (s["python"], s["mysql"], s["client"], s["pulsar"], s["hdfs"]["namenode"], s["hdfs"]["datanode"]):
        assert section["storageClass"] == "fast"
    assert s["python"]["resources"] == {"limits": {"cpu": "4"}}
    assert s["spark"]["worker"]["resources"] == {"requests": {"cpu": "2"}}
    assert "resources" not in s["mysql"]
    assert any("fate_resources.mysql: chart fate reads resources only for" in w for w in plan["warnings"])
    assert s["imagePullSecrets"] == [{"name": "a"}, {"name": "b"}]
    assert (s["persistence"], s["istio"], s["ingressClassName"]) == (True, {"enabled": True}, "traefik")
    assert s["ingress"]["fateboard"]["hosts"] == [{"name": "board.example.org", "path": "/"}]
    assert s["ingress"]["client"]["hosts"] == [{"name": "9999.notebook.fl.example.org", "path": "/"}]
    assert s["ingress"]["pulsar"]["hosts"] == [{"name": "9999.pulsar.fl.example.org", "path": "/"}]
    # sections the model emits keep the chart defaults the values-template would otherwise null
    assert (s["spark"]["master"]["replicas"], s["spark"]["worker"]["replicas"], s["client"]["subPath"]) == (
        1,
        2,
        "client",
    )
    assert s["fateboard"]["username"] == "admin"


def test_gpu():
    hv = federation((9999,))
    hv["fed-fate-9999"].update(
        fate_gpu={"enabled": True, "count": 2}, fate_resources={"python": {"limits": {"cpu": "8"}}}
    )
    s = spec(plan_of(hv), "fed-fate-9999")
    assert (s["algorithm"], s["device"]) == ("NN", "GPU")
    assert s["python"]["resources"] == {"limits": {"cpu": "8", "nvidia.com/gpu": 2}, "requests": {"nvidia.com/gpu": 2}}


def test_rabbitmq_credentials_reach_broker_and_fateflow():
    hv = federation(
        (9999,), backend="spark_rabbitmq", common={"fate_rabbitmq_user": "fl", "fate_rabbitmq_password": "pw"}
    )
    s = spec(plan_of(hv), "fed-fate-9999")
    assert {k: s["rabbitmq"][k] for k in ("default_user", "default_pass", "user", "password")} == {
        "default_user": "fl",
        "default_pass": "pw",
        "user": "fl",
        "password": "pw",
    }
    assert s["python"]["rabbitmq"] == {
        "host": "rabbitmq",
        "mng_port": 15672,
        "port": 5672,
        "user": "fl",
        "password": "pw",
    }


def test_overrides_are_merged_last_and_do_not_leak_between_hosts():
    hv = federation((9999, 10000, 10001), backend="spark_pulsar")
    hv["fed-fate-10000"]["fate_overrides"] = {
        "pulsar": {"route_table": {"9999": {"proxy": "via-vpn"}}, "env": [{"name": "PULSAR_MEM", "value": "-Xmx4g"}]},
        "modules": ["python", "mysql", "spark", "hdfs", "nginx", "pulsar"],
    }
    plan = plan_of(hv)
    overridden = spec(plan, "fed-fate-10000")
    assert overridden["pulsar"]["route_table"][9999]["proxy"] == "via-vpn"
    assert overridden["pulsar"]["route_table"][9999]["host"] == "10.0.39.15"
    assert "9999" not in overridden["pulsar"]["route_table"]
    assert overridden["pulsar"]["env"] == [{"name": "PULSAR_MEM", "value": "-Xmx4g"}]
    assert overridden["modules"] == ["python", "mysql", "spark", "hdfs", "nginx", "pulsar"]
    # the same route entry seen by another party is untouched
    assert spec(plan, "fed-fate-10001")["pulsar"]["route_table"][9999]["proxy"] == ""


def test_deep_merge():
    base = {"a": {"b": 1, "c": [1]}, 10: {"x": 1}}
    shared = base["a"]
    merged = deep_merge(base, {"a": {"c": [2], "d": None}, "10": {"y": 2}, "e": {"f": 1}})
    assert merged == {"a": {"b": 1, "c": [2], "d": None}, 10: {"x": 1, "y": 2}, "e": {"f": 1}}
    assert shared == {"b": 1, "c": [1]}  # copied before writing


def test_serving_links_and_star_routes():
    plan = plan_of(federation(topology="star", serving=(9999, 10000), serving_exchange=True))
    fate = spec(plan, "fed-fate-9999")
    serving = spec(plan, "fed-serving-9999")
    assert (fate["servingIp"], fate["servingPort"]) == ("10.0.39.15", 30995)
    assert serving["servingServer"]["fateflow"] == {"ip": "10.0.39.15", "port": 30997}
    assert serving["servingProxy"]["exchange"] == {"ip": "10.0.0.1", "port": 30006}
    assert "partyList" not in serving["servingProxy"]
    exchange = spec(plan, "fed-serving-exchange")
    assert exchange["modules"] == ["servingProxy"]
    assert exchange["servingProxy"]["partyList"] == [
        {"partyId": 9999, "partyIp": "10.0.39.15", "partyPort": 30996},
        {"partyId": 10000, "partyIp": "10.0.39.16", "partyPort": 31006},
    ]
    assert plan["clusters"]["fed-exchange"]["node_ports"] == {"rollsite": 30000}
    assert plan["clusters"]["fed-serving-exchange"]["node_ports"] == {"serving_proxy": 30006}


def test_prerequisites():
    hv = federation(
        topology="star", backend="spark_pulsar", common={"fate_image_pull_secrets": ["pull"], "fate_istio": True}
    )
    plan = plan_of(hv)
    party = plan["clusters"]["fed-fate-9999"]["prerequisites"]
    assert "namespace fate-9999 on kube cluster default" in party
    assert "image pull secret pull in namespace fate-9999" in party
    assert any(p.startswith("secret pulsar-cert") and "CN 9999.fate.org" in p for p in party)
    assert any(p.startswith("secret fateboard-credential") for p in party)
    assert any(p.startswith("secret traffic-server-cert") for p in plan["clusters"]["fed-exchange"]["prerequisites"])


def test_several_federations_share_kube_clusters_without_port_collisions():
    hv = federation(name="a", topology="star", common={"fate_kube_cluster": "shared"})
    hv.update(
        federation(
            name="b",
            topology="star",
            common={"fate_kube_cluster": "shared"},
            per_party={9999: {"fate_namespace": "b-9999"}, 10000: {"fate_namespace": "b-10000"}},
            exchange={"fate_namespace": "b-exchange"},
        )
    )
    plan = build_plan(hv)
    assert plan["errors"] == []
    # preferred blocks first (exchanges by federation name, then parties by party id); the same party id in a
    # second federation probes past the blocks others prefer, with a warning to pin it
    assert plan["clusters"]["a-exchange"]["node_ports"] == {"rollsite": 30000}
    assert plan["clusters"]["b-exchange"]["node_ports"] == {"rollsite": 30010}
    assert plan["clusters"]["a-fate-9999"]["node_ports"]["osx"] == 30991
    assert plan["clusters"]["a-fate-10000"]["node_ports"]["osx"] == 31001
    assert plan["clusters"]["b-fate-9999"]["node_ports"]["osx"] == 31011
    assert plan["clusters"]["b-fate-10000"]["node_ports"]["osx"] == 31021
    assert any("host 'b-fate-9999'" in w and "fate_node_port_base: 31010" in w for w in plan["warnings"])
    ports = [p for c in plan["clusters"].values() for p in c["node_ports"].values()]
    assert len(ports) == len(set(ports))


def test_cluster_yaml_helper():
    plan = plan_of(federation((9999,)))
    assert cluster_yaml(plan, "fed-fate-9999")["name"] == "fate-9999"
    with pytest.raises(FederationError, match="not a FATE deployment"):
        cluster_yaml(plan, "nope")
    broken = copy.deepcopy(plan)
    broken["errors"] = ["x"]
    with pytest.raises(FederationError, match="has errors"):
        cluster_yaml(broken, "fed-fate-9999")


def test_inputs_are_not_modified():
    hv = federation(
        topology="star",
        backend="spark_pulsar",
        serving=(9999,),
        common={"fate_overrides": {"python": {"logLevel": "DEBUG"}}},
    )
    before = copy.deepcopy(hv)
    build_plan(hv)
    assert hv == before
