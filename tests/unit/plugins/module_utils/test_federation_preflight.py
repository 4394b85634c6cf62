"""Every preflight rule: the message names the host (with its groups) or the federation, and the variable."""

import pytest
from ansible_collections.fateops.kubefate.plugins.module_utils.federation import build_plan, validate_federation
from federation_inventory import federation


def errors(hostvars):
    return build_plan(hostvars)["errors"]


def warnings(hostvars):
    return build_plan(hostvars)["warnings"]


def find(messages, *fragments):
    """The messages containing every fragment; fails with all messages when there is none."""
    hits = [m for m in messages if all(f in m for f in fragments)]
    assert hits, "no message with {!r} in:\n{}".format(fragments, "\n".join(messages))
    return hits


def host_ref(host, group):
    return f"host '{host}' (groups: fed, {group})"


P9999 = ("fed-fate-9999", "fed_party_9999")
P10000 = ("fed-fate-10000", "fed_party_10000")


def test_a_valid_federation_has_no_errors():
    result = validate_federation(federation(topology="star", serving=(9999,), serving_exchange=True))
    assert result["errors"] == []
    assert isinstance(result["warnings"], list)


def test_federation_is_required():
    hv = federation()
    del hv["fed-fate-9999"]["fate_federation"]
    find(errors(hv), host_ref(*P9999), "fate_federation: is required")


def test_non_fate_hosts_are_ignored():
    hv = federation()
    hv["kubefate-server"] = {"group_names": ["kubefate"], "kubefate_url": "https://x"}
    plan = build_plan(hv)
    assert plan["errors"] == []
    assert plan["ignored_hosts"] == ["kubefate-server"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "fate_party_id: expected an integer, got 'abc'"),
        ([9999], "fate_party_id: expected an integer, got [9999] (list)"),
        (True, "fate_party_id: expected an integer, got True (bool)"),
        (0, "fate_party_id: must be >= 1, got 0"),
        (-5, "fate_party_id: must be >= 1, got -5"),
        ("", "fate_party_id: is required"),
    ],
)
def test_bad_party_ids(value, message):
    hv = federation()
    hv["fed-fate-9999"]["fate_party_id"] = value
    find(errors(hv), host_ref(*P9999), message)


def test_numeric_string_party_id_is_accepted():
    hv = federation()
    hv["fed-fate-9999"]["fate_party_id"] = "9999"
    plan = build_plan(hv)
    assert plan["errors"] == []
    assert plan["clusters"]["fed-fate-9999"]["cluster_yaml"]["partyId"] == 9999


def test_duplicate_party_ids():
    hv = federation()
    hv["fed-fate-10000"]["fate_party_id"] = 9999
    hv["fed-fate-10000"]["fate_namespace"] = "fate-9999-bis"
    msg = find(errors(hv), "fate_party_id", "party 9999 is already used by", "duplicate party id")[0]
    assert "fed-fate-9999" in msg and "fed-fate-10000" in msg and "fed_party_10000" in msg


def test_same_party_id_in_two_federations_is_fine_when_namespaces_differ():
    hv = federation(name="a")
    hv.update(federation(name="b", common={"fate_kube_cluster": "other"}))
    assert errors(hv) == []


def test_two_clusters_in_one_namespace_of_one_kube_cluster():
    hv = federation(name="a")
    hv.update(federation(name="b"))
    msgs = find(
        errors(hv),
        "fate_namespace",
        "namespace 'fate-9999' on kube cluster 'default'",
        "one KubeFATE cluster per namespace",
    )
    assert any("host 'a-fate-9999'" in m and "'b-fate-9999'" in m for m in msgs)


def test_serving_duplicate_and_without_training_cluster():
    hv = federation(serving=(9999,))
    hv["fed-serving-7"] = dict(hv["fed-serving-9999"], fate_party_id=7)
    hv["fed-serving-dup"] = dict(hv["fed-serving-9999"], fate_namespace="other")
    errs = errors(hv)
    find(errs, "host 'fed-serving-7'", "fate_party_id", "serving cluster of party 7 has no training cluster")
    find(errs, "host 'fed-serving-dup'", "fate_party_id", "party 9999 already has a serving cluster")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("fate_topology", "ring", "fate_topology: must be one of mesh, star, got 'ring'"),
        ("fate_deployment", "trainer", "fate_deployment: must be one of fate, serving, exchange, serving_exchange"),
        ("fate_backend", "spark", "fate_backend: must be one of eggroll, spark_rabbitmq"),
        ("fate_version", "1.8.0", "fate_version: unknown FATE version '1.8.0'"),
        ("fate_version", ["2.0.0"], "fate_version: expected a string"),
        ("fate_chart_version", "v9.9.9", "fate_chart_version: unknown fate chart version 'v9.9.9'"),
        ("fate_overrides", ["x"], "fate_overrides: expected a dict deep-merged into the cluster.yaml, got list"),
        ("fate_node_ports", [30001], "fate_node_ports: expected a dict, got list"),
        ("fate_access", "NodePort", "fate_access: expected a dict, got str"),
        ("fate_access", {"type": "HostPort", "address": "1.2.3.4"}, "fate_access.type: must be one of NodePort"),
        ("fate_access", {"address": "1.2.3.4", "adress": "x"}, "fate_access: unknown keys adress"),
        ("fate_access", {"address": ["1.2.3.4"]}, "fate_access.address: expected an IP address or a host name"),
        (
            "fate_access",
            {"address": "1.2.3.4", "addresses": {"rolsite": "x"}},
            "fate_access.addresses.rolsite: unknown",
        ),
        ("fate_image_pull_secrets", "harbor", "fate_image_pull_secrets: expected a list, got str"),
        ("fate_image_pull_secrets", [{"nam": "x"}], "fate_image_pull_secrets: expected a list of secret names"),
        ("fate_persistence", "maybe", "fate_persistence: expected a boolean, got 'maybe'"),
        ("fate_resources", ["python"], "fate_resources: expected a dict, got list"),
        ("fate_resources", {"python": "2 cpus"}, "fate_resources.python: expected a dict"),
        ("fate_gpu", {"enabled": True, "count": 0}, "fate_gpu.count: expected a positive integer"),
        ("fate_external_mysql", {"host": "db"}, "fate_external_mysql.host: unknown key"),
        ("fate_external_mysql", {"port": 3306}, "fate_external_mysql.ip: is required"),
        ("fate_pull_policy", "Sometimes", "fate_pull_policy: must be one of Always, IfNotPresent, Never"),
        ("fate_algorithm", "Deep", "fate_algorithm: must be one of Basic, NN, ALL"),
        ("fate_namespace", "Fate_9999", "fate_namespace: 'Fate_9999' is not a valid name"),
        ("fate_cluster_name", "x" * 54, "fate_cluster_name:"),
        ("fate_kube_cluster", {"a": 1}, "fate_kube_cluster: expected a string, got dict"),
        ("fate_node_port_base", 30005, "fate_node_port_base: 30005 must be a multiple of 10"),
        ("fate_node_port_base", 32760, "fate_node_port_base: 32760 must be a multiple of 10 between 30000 and 32750"),
        ("fate_ingress_hosts", {"fateboard": "board.example.com"}, "fate_ingress_hosts.fateboard: expected a list"),
    ],
)
def test_wrong_values_and_types(key, value, message):
    hv = federation()
    hv["fed-fate-9999"][key] = value
    find(errors(hv), host_ref(*P9999), message)


def test_version_required_for_training_clusters_only():
    hv = federation(topology="star", serving=(9999,))
    del hv["fed-fate-9999"]["fate_version"]
    del hv["fed-exchange"]["fate_version"]
    del hv["fed-serving-9999"]["fate_version"]
    errs = errors(hv)
    find(errs, host_ref(*P9999), "fate_version: is required for a training cluster")
    assert not [e for e in errs if "fed-exchange" in e or "fed-serving-9999" in e]


@pytest.mark.parametrize(
    ("kind", "key", "value"),
    [
        ("exchange", "fate_exchange_chart_version", "v2.0.0"),
        ("serving", "fate_serving_chart_version", "v1.2.4"),
    ],
)
def test_unknown_side_chart_versions(kind, key, value):
    hv = federation(topology="star", serving=(9999,))
    host = "fed-exchange" if kind == "exchange" else "fed-serving-9999"
    hv[host][key] = value
    find(errors(hv), f"host '{host}'", key, f"unknown fate-{kind} chart version '{value}'")


def test_topologies_must_agree():
    hv = federation(topology="star")
    hv["fed-fate-10000"]["fate_topology"] = "mesh"
    find(
        errors(hv),
        "federation 'fed'",
        "fate_topology: hosts disagree",
        "mesh: fed-fate-10000",
        "star: fed-exchange, fed-fate-9999",
    )


def test_fate_1_and_2_cannot_federate_and_minor_versions_warn():
    hv = federation()
    hv["fed-fate-10000"]["fate_version"] = "1.11.2"
    find(errors(hv), "federation 'fed'", "fate_version: FATE 1.x and 2.x parties cannot federate", "fed-fate-10000")
    hv["fed-fate-9999"]["fate_version"] = "1.10.0"
    assert not [e for e in errors(hv) if "fate_version" in e]
    find(warnings(hv), "federation 'fed'", "fate_version: parties run different FATE versions", "1.10.0: fed-fate-9999")


def test_rollsite_and_osx_parties_cannot_federate():
    hv = federation()
    hv["fed-fate-10000"]["fate_chart_version"] = "v1.11.2"
    find(errors(hv), "federation 'fed'", "fate_chart_version", "rollsite (chart < v2.0.0) and osx (v2.0.0)")


def test_mixed_engines():
    hv = federation(backend="eggroll")
    hv["fed-fate-10000"]["fate_backend"] = "spark_pulsar"
    find(
        errors(hv),
        "federation 'fed'",
        "fate_backend: parties use incompatible federation engines",
        "fed-fate-10000 (party 10000)",
    )


def test_pulsar_and_local_pulsar_are_compatible():
    hv = federation(backend="spark_pulsar", topology="star")
    hv["fed-fate-10000"]["fate_backend"] = "spark_local_pulsar"
    assert errors(hv) == []


def test_rollsite_and_pulsar_parties_sharing_one_exchange():
    hv = federation(topology="star")
    hv["fed-fate-10000"]["fate_backend"] = "spark_pulsar"
    find(
        errors(hv),
        "host 'fed-exchange' (groups: fed, fed_exchange)",
        "fate_backend: rollsite (eggroll) and pulsar parties cannot share one exchange",
    )


@pytest.mark.parametrize("backend", ["spark_rabbitmq", "spark_local_rabbitmq"])
def test_rabbitmq_in_star_mode(backend):
    find(
        errors(federation(topology="star", backend=backend)),
        "federation 'fed'",
        "fate_topology: RabbitMQ has no exchange mode",
        f"fed-fate-9999 ({backend})",
    )


def test_star_needs_exactly_one_exchange():
    find(
        errors(federation(topology="star", exchange=False)),
        "federation 'fed'",
        "fate_deployment: a star federation needs exactly one",
        "found: none",
    )
    hv = federation(topology="star")
    hv["fed-exchange-2"] = dict(hv["fed-exchange"], fate_namespace="fate-exchange-2")
    find(errors(hv), "federation 'fed'", "fate_deployment", "(found: fed-exchange, fed-exchange-2)")


def test_at_most_one_serving_exchange():
    hv = federation(topology="star", serving=(9999,), serving_exchange=True)
    hv["fed-serving-exchange-2"] = dict(hv["fed-serving-exchange"], fate_namespace="other")
    find(errors(hv), "federation 'fed'", "fate_deployment: at most one serving_exchange", "fed-serving-exchange-2")


def test_exchange_in_mesh_is_a_warning():
    hv = federation(topology="mesh", exchange=True)
    assert errors(hv) == []
    find(warnings(hv), "host 'fed-exchange'", "fate_deployment: exchange is not used by a mesh federation")


def test_exchange_without_parties():
    hv = {
        "ex": {
            "fate_federation": "lonely",
            "fate_topology": "star",
            "fate_deployment": "exchange",
            "fate_access": {"address": "1.1.1.1"},
        }
    }
    find(errors(hv), "federation 'lonely'", "fate_deployment: the exchange has no parties")


def test_gpu_needs_chart_1_11_1():
    hv = federation(version="1.9.1")
    hv["fed-fate-9999"]["fate_gpu"] = {"enabled": True}
    find(errors(hv), host_ref(*P9999), "fate_gpu: GPU needs chart fate v1.11.1 or later (has v1.9.1)")
    hv = federation(version="1.11.1")
    hv["fed-fate-9999"]["fate_gpu"] = {"enabled": True}
    assert errors(hv) == []


def test_missing_address_of_a_reachable_party():
    hv = federation()
    hv["fed-fate-10000"]["fate_access"] = {"type": "NodePort"}
    find(
        errors(hv),
        host_ref(*P10000),
        "fate_access.address: is required",
        "'fed-fate-9999' reaches this fate deployment",
        "osx",
    )


def test_missing_address_of_the_exchange():
    hv = federation(topology="star")
    hv["fed-exchange"]["fate_access"] = {}
    msg = find(errors(hv), "host 'fed-exchange' (groups: fed, fed_exchange)", "fate_access.address: is required")[0]
    assert "'fed-fate-10000', 'fed-fate-9999' reach this exchange deployment" in msg


def test_address_not_needed_by_a_lonely_party():
    hv = federation((9999,))
    hv["fed-fate-9999"]["fate_access"] = {}
    assert errors(hv) == []


def test_per_endpoint_addresses_satisfy_the_address_rule():
    hv = federation()
    hv["fed-fate-10000"]["fate_access"] = {"type": "LoadBalancer", "addresses": {"osx": "203.0.113.4"}}
    plan = build_plan(hv)
    assert plan["errors"] == []
    assert plan["clusters"]["fed-fate-9999"]["cluster_yaml"]["osx"]["partyList"] == [
        {"partyId": 10000, "partyIp": "203.0.113.4", "partyPort": 9370}
    ]


def test_node_port_pins_out_of_range_unknown_or_not_numeric():
    hv = federation()
    hv["fed-fate-9999"]["fate_node_ports"] = {"osx": 8080, "fateflow": 30001, "fateflow_http": "http"}
    errs = errors(hv)
    find(errs, host_ref(*P9999), "fate_node_ports.osx: 8080 is outside the NodePort range 30000-32767")
    find(errs, host_ref(*P9999), "fate_node_ports.fateflow: unknown endpoint")
    find(errs, host_ref(*P9999), "fate_node_ports.fateflow_http: expected an integer port, got 'http'")


def test_node_port_pins_colliding():
    hv = federation()
    hv["fed-fate-9999"]["fate_node_ports"] = {"osx": 31000}
    hv["fed-fate-10000"]["fate_node_ports"] = {"fateflow_http": 31000}
    msg = find(errors(hv), "fate_node_ports.", "NodePort 31000 collides with", "on kube cluster 'default'")[0]
    assert "fed-fate-9999" in msg and "fed-fate-10000" in msg


def test_pins_on_different_kube_clusters_do_not_collide():
    hv = federation(kube="k{}".format)
    hv["fed-fate-9999"]["fate_node_ports"] = {"osx": 31000}
    hv["fed-fate-10000"]["fate_node_ports"] = {"osx": 31000}
    assert errors(hv) == []


def test_node_port_base_conflicts():
    hv = federation()
    hv["fed-fate-9999"]["fate_node_port_base"] = 31000
    hv["fed-fate-10000"]["fate_node_port_base"] = 31000
    find(errors(hv), "fate_node_port_base: block 31000-31009 on kube cluster 'default' is taken by party")
    hv = federation(serving=(9999,))
    hv["fed-fate-9999"]["fate_node_port_base"] = 31000
    hv["fed-serving-9999"]["fate_node_port_base"] = 31010
    find(errors(hv), "fate_node_port_base: 31010 differs from 31000", "party 9999 of federation 'fed'")


def test_node_port_base_over_a_pinned_port():
    hv = federation()
    hv["fed-fate-10000"]["fate_node_ports"] = {"osx": 31001}
    hv["fed-fate-9999"]["fate_node_port_base"] = 31000
    find(errors(hv), host_ref(*P9999), "fate_node_port_base: block 31000-31009", "31001 (osx of host 'fed-fate-10000')")


def test_node_ports_exhausted():
    ids = range(1, 280)
    hv = federation(ids, common={"fate_mysql_password": "x"})
    msgs = find(errors(hv), "fate_node_ports: no free NodePort block left on kube cluster 'default'")
    assert len(msgs) == 279 - 276  # 276 blocks of ten ports between 30000 and 32759


def test_probing_is_a_warning_that_suggests_pinning():
    hv = federation((1, 276))  # both prefer block 1 (30010-30019)
    plan = build_plan(hv)
    assert plan["errors"] == []
    find(
        plan["warnings"],
        "host 'fed-fate-276'",
        "fate_node_port_base: preferred NodePort block 30010 is taken",
        "uses 30020-30029",
        "fate_node_port_base: 30020",
    )


def test_pins_of_other_deployments_are_ignored_per_kind():
    hv = federation(serving=(9999,))
    for host in ("fed-fate-9999", "fed-serving-9999"):
        hv[host]["fate_node_ports"] = {"osx": 30501, "serving_proxy": 30502}
    plan = build_plan(hv)
    assert plan["errors"] == []
    assert plan["clusters"]["fed-fate-9999"]["node_ports"]["osx"] == 30501
    assert plan["clusters"]["fed-serving-9999"]["node_ports"]["serving_proxy"] == 30502


def test_pins_ignored_without_node_ports():
    hv = federation()
    hv["fed-fate-9999"]["fate_access"] = {"type": "Ingress", "address": "in.example.org"}
    hv["fed-fate-9999"]["fate_node_ports"] = {"osx": 30501}
    find(warnings(hv), host_ref(*P9999), "fate_node_ports: ignored with fate_access.type Ingress (osx)")
    find(warnings(hv), host_ref(*P9999), "fate_access.type: Ingress: services stay ClusterIP", "osx 9370")


def test_backend_without_its_modules_after_overrides():
    hv = federation(backend="spark_pulsar")
    hv["fed-fate-9999"]["fate_overrides"] = {"modules": ["python", "mysql", "spark", "hdfs", "nginx"]}
    find(
        errors(hv),
        host_ref(*P9999),
        "modules: backend spark_pulsar needs module(s) pulsar, missing after fate_overrides",
    )
    hv = federation()
    hv["fed-fate-9999"]["fate_overrides"] = {"modules": ["osx", "clustermanager", "nodemanager", "python", "fateboard"]}
    errs = errors(hv)
    find(errs, host_ref(*P9999), "modules: backend eggroll needs module(s) mysql")
    find(errs, host_ref(*P9999), "modules: neither the mysql module nor externalMysqlIp")
    find(warnings(hv), host_ref(*P9999), "modules: without client")


def test_external_mysql_replaces_the_mysql_module():
    hv = federation()
    hv["fed-fate-9999"]["fate_external_mysql"] = {"ip": "db.example.org", "password": "s3cret"}
    plan = build_plan(hv)
    assert plan["errors"] == []
    spec = plan["clusters"]["fed-fate-9999"]["cluster_yaml"]
    assert "mysql" not in spec["modules"]
    assert (spec["externalMysqlIp"], spec["externalMysqlPort"], spec["externalMysqlPassword"]) == (
        "db.example.org",
        3306,
        "s3cret",
    )


def test_override_rules():
    hv = federation()
    hv["fed-fate-9999"]["fate_overrides"] = {
        "name": "other",
        "osxx": {"type": "NodePort"},
        "python": {"logLevel": "DEBUG"},
    }
    plan = build_plan(hv)
    find(plan["errors"], host_ref(*P9999), "fate_overrides.name: must not be overridden")
    find(plan["warnings"], host_ref(*P9999), "fate_overrides.osxx: not a top-level key of chart fate v2.0.0")
    spec = plan["clusters"]["fed-fate-9999"]["cluster_yaml"]
    assert spec["name"] == "fate-9999" and spec["python"]["logLevel"] == "DEBUG"


def test_misspelt_variables_warn():
    hv = federation()
    hv["fed-fate-9999"]["fate_parti_id"] = 1
    hv["fed-fate-9999"]["fate_something_else"] = 1
    msgs = warnings(hv)
    find(msgs, host_ref(*P9999), "fate_parti_id: unknown variable; did you mean fate_party_id?")
    assert not [m for m in msgs if "fate_something_else" in m]


def test_default_secrets_warn_and_set_secrets_are_used():
    hv = federation((9999,), serving=(9999,))
    msgs = warnings(hv)
    find(msgs, host_ref(*P9999), "fate_fateboard_password: not set")
    find(msgs, host_ref(*P9999), "fate_mysql_password: not set")
    find(msgs, "host 'fed-serving-9999'", "fate_serving_admin_password: not set")
    for host in ("fed-fate-9999", "fed-serving-9999"):
        hv[host].update(fate_fateboard_password="b", fate_mysql_password="m", fate_serving_admin_password="a")
    plan = build_plan(hv)
    assert not [m for m in plan["warnings"] if "not set" in m]
    assert plan["clusters"]["fed-fate-9999"]["cluster_yaml"]["mysql"]["password"] == "m"
    assert plan["clusters"]["fed-fate-9999"]["cluster_yaml"]["fateboard"]["password"] == "b"
    assert plan["clusters"]["fed-serving-9999"]["cluster_yaml"]["servingAdmin"]["password"] == "a"


def test_persistence_without_storage_class_warns():
    hv = federation((9999,))
    hv["fed-fate-9999"]["fate_persistence"] = True
    find(warnings(hv), host_ref(*P9999), "fate_storage_class: persistence without a storage class")
    hv["fed-fate-9999"].update(fate_persistence=False, fate_storage_class="fast")
    find(warnings(hv), host_ref(*P9999), "fate_storage_class: ignored because fate_persistence is false")


def test_every_error_names_a_host_or_a_federation_and_a_variable():
    hv = federation(topology="star", backend="spark_rabbitmq", exchange=False)
    hv["fed-fate-9999"].update(fate_party_id="x", fate_node_ports={"pulsar": 1})
    hv["fed-fate-10000"]["fate_access"] = {"type": "Nope"}
    errs = errors(hv)
    assert len(errs) >= 4
    for message in errs:
        assert message.startswith(("host '", "federation '")), message
        assert ": fate_" in message or ": modules" in message, message
