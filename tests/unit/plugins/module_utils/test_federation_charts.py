"""Every generated cluster.yaml renders through the real KubeFATE chart into valid Kubernetes objects.

``kubefate_emulator.charts.Renderer`` does what the KubeFATE server does (values-template.yaml with the
cluster.yaml as root, then the chart); ``validate`` is kubernetes-validate --strict. Besides validity, the
rendered route tables (osx/rollsite ``route_table.json``, nginx ``route_table.yaml``, fateflow's pulsar and
rabbitmq route tables, the exchange's SNI table, serving-proxy's routes) are checked for the addresses the
model computed, so a cluster.yaml that the chart silently ignores fails here.

Skipped when the reference charts (``../shared/kubefate/charts``) are not on this machine.
"""

import json
import re

import pytest
import yaml
from federation_inventory import federation, node_ip, plan_of

pytest.importorskip("helm_python", reason="helm-python-sdk renders the charts")
pytest.importorskip("kubernetes_validate", reason="kubernetes-validate checks the rendered objects")
charts_mod = pytest.importorskip("kubefate_emulator.charts")
CHARTS = charts_mod.load_shared_charts()
pytestmark = [
    pytest.mark.charts,
    pytest.mark.skipif(not CHARTS, reason="reference KubeFATE charts not found (../shared/kubefate/charts)"),
]

VERSIONS = ("1.9.1", "1.11.2", "2.0.0")
BACKENDS = ("eggroll", "spark_rabbitmq", "spark_pulsar", "spark_local_pulsar")
MATRIX = [
    (v, b, t) for v in VERSIONS for b in BACKENDS for t in ("mesh", "star") if not (t == "star" and "rabbitmq" in b)
]
SECRETS = {"fate_mysql_password": "m", "fate_fateboard_password": "b", "fate_serving_admin_password": "a"}


@pytest.fixture(scope="module")
def renderer():
    return charts_mod.Renderer()


_VALID = {}


def render_valid(renderer, cluster):
    """Render one planned cluster and assert every object passes kubernetes-validate (strict)."""
    package = CHARTS[(cluster["chart_name"], cluster["chart_version"])]
    objects = renderer.render(package, cluster["cluster_yaml"], cluster["name"], cluster["namespace"])
    errors = []
    for obj in objects:
        key = json.dumps(obj, sort_keys=True, default=str)
        if key not in _VALID:  # identical objects recur across the matrix: validate each once
            _VALID[key] = charts_mod.validate([obj])
        errors += _VALID[key]
    assert errors == [], errors
    assert charts_mod.workloads(objects), "no Deployment or StatefulSet rendered"
    return objects


def config(objects, name, key):
    for obj in objects:
        if obj.get("kind") == "ConfigMap" and obj["metadata"]["name"] == name:
            return obj["data"][key]
    raise AssertionError(f"ConfigMap {name} not rendered")


def workload_names(objects):
    return {o["metadata"]["name"] for o in charts_mod.workloads(objects)}


def load(text):
    try:
        return json.loads(text)
    except ValueError:
        return yaml.safe_load(text)


def plan_for(version, backend, topology, common=None, **kwargs):
    hv = federation(
        (9999, 10000, 10001),
        topology=topology,
        backend=backend,
        version=version,
        serving=(9999, 10000),
        common=dict(SECRETS, **(common or {})),
        **kwargs,
    )
    return plan_of(hv)


@pytest.mark.parametrize(("version", "backend", "topology"), MATRIX)
def test_fate_cluster_renders(renderer, version, backend, topology):
    plan = plan_for(version, backend, topology)
    cluster = plan["clusters"]["fed-fate-9999"]
    objects = render_valid(renderer, cluster)
    names = workload_names(objects)
    assert {"python", "mysql"} <= names
    peers = {10000: plan["clusters"]["fed-fate-10000"], 10001: plan["clusters"]["fed-fate-10001"]}
    exchange = plan["clusters"].get("fed-exchange")
    if backend == "eggroll":
        gateway = "osx" if version == "2.0.0" else "rollsite"
        assert gateway in names and {"clustermanager", "nodemanager"} <= names
        routes = load(config(objects, f"{gateway}-config", "route_table.json"))["route_table"]
        for pid, peer in peers.items():
            if topology == "mesh":
                want = peer["endpoints"][gateway]
                assert routes[str(pid)]["default"] == [{"ip": want["host"], "port": want["port"]}]
            elif gateway == "osx":  # osx has no default route: every peer points at the exchange rollsite
                want = exchange["endpoints"]["rollsite"]
                assert routes[str(pid)]["default"] == [{"ip": want["host"], "port": want["port"]}]
            else:
                assert str(pid) not in routes
        if gateway == "rollsite":
            default = routes["default"]["default"][0]
            if topology == "star":
                assert default == {"ip": "10.0.0.1", "port": exchange["endpoints"]["rollsite"]["port"]}
            else:
                assert default == {"ip": "rollsite", "port": 9370}
    else:
        assert "nginx" in names
        assert ("spark-master" in names) == ("local" not in backend)
        nginx_routes = yaml.safe_load(config(objects, "nginx-config", "route_table.yaml"))
        engine = "rabbitmq" if "rabbitmq" in backend else "pulsar"
        engine_routes = yaml.safe_load(config(objects, f"{engine}-route-table", f"{engine}_route_table.yaml"))
        assert engine_routes[9999]["host"] == engine
        if topology == "mesh":
            for pid, peer in peers.items():
                ep = peer["endpoints"]
                assert nginx_routes[pid]["fateflow"] == [
                    {"host": node_ip(pid), "http_port": ep["nginx_http"]["port"], "grpc_port": ep["nginx_grpc"]["port"]}
                ]
                assert engine_routes[pid]["host"] == node_ip(pid)
                assert engine_routes[pid]["port"] == ep[engine]["port"]
            assert nginx_routes["default"]["proxy"][0]["host"] == "nginx"
        else:
            ep = exchange["endpoints"]
            assert set(engine_routes) == {"default", 9999}
            assert engine_routes["default"] == {
                "proxy": f"10.0.0.1:{ep['traffic_server']['port']}",
                "domain": "fate.org",
            }
            assert nginx_routes["default"]["proxy"] == [
                {"host": "10.0.0.1", "http_port": ep["nginx_http"]["port"], "grpc_port": ep["nginx_grpc"]["port"]}
            ]
            assert set(nginx_routes) == {"default", 9999}


@pytest.mark.parametrize("topology", ["mesh", "star"])
def test_serving_renders(renderer, topology):
    plan = plan_for("2.0.0", "eggroll", topology, serving_exchange=topology == "star")
    cluster = plan["clusters"]["fed-serving-9999"]
    objects = render_valid(renderer, cluster)
    assert {"serving-proxy", "serving-server", "serving-redis"} <= workload_names(objects)
    routes = json.loads(config(objects, "serving-proxy-config", "route_table.json"))["route_table"]
    if topology == "mesh":
        peer = plan["clusters"]["fed-serving-10000"]["endpoints"]["serving_proxy"]
        assert routes["10000"]["default"] == [{"ip": peer["host"], "port": str(peer["port"])}]
        assert routes["default"]["default"] == [{"ip": "serving-proxy", "port": 8869}]
    else:
        ex = plan["clusters"]["fed-serving-exchange"]["endpoints"]["serving_proxy"]
        assert "10000" not in routes
        assert routes["default"]["default"] == [{"ip": ex["host"], "port": ex["port"]}]
    fateflow = plan["clusters"]["fed-fate-9999"]["endpoints"]["fateflow_http"]
    server_conf = config(objects, "serving-server-config", "serving-server.properties")
    assert f"model.transfer.url=http://{fateflow['host']}:{fateflow['port']}/v1/model/transfer" in server_conf


@pytest.mark.parametrize(
    ("backend", "modules"), [("eggroll", {"rollsite"}), ("spark_pulsar", {"traffic-server", "nginx"})]
)
def test_exchange_renders(renderer, backend, modules):
    plan = plan_for("1.11.2", backend, "star")
    objects = render_valid(renderer, plan["clusters"]["fed-exchange"])
    assert workload_names(objects) == modules
    parties = {pid: plan["clusters"][f"fed-fate-{pid}"]["endpoints"] for pid in (9999, 10000, 10001)}
    if backend == "eggroll":
        routes = json.loads(config(objects, "rollsite-config", "route_table.json"))["route_table"]
        for pid, ep in parties.items():
            assert routes[str(pid)]["default"] == [{"ip": node_ip(pid), "port": ep["rollsite"]["port"]}]
    else:
        sni = yaml.safe_load(config(objects, "traffic-server-sni", "sni.yaml"))["sni"]
        assert sorted(sni, key=lambda e: e["fqdn"]) == [
            {"fqdn": f"{pid}.fate.org", "tunnel_route": f"{node_ip(pid)}:{ep['pulsar_tls']['port']}"}
            for pid, ep in sorted(parties.items(), key=lambda kv: str(kv[0]))
        ]
        nginx = yaml.safe_load(config(objects, "nginx-config", "route_table.yaml"))
        for pid, ep in parties.items():
            assert nginx[pid]["fateflow"][0]["http_port"] == ep["fateflow_http"]["port"]
            assert nginx[pid]["proxy"][0]["grpc_port"] == ep["nginx_grpc"]["port"]


def test_serving_exchange_renders(renderer):
    plan = plan_for("2.0.0", "eggroll", "star", serving_exchange=True)
    objects = render_valid(renderer, plan["clusters"]["fed-serving-exchange"])
    assert workload_names(objects) == {"serving-proxy"}
    routes = json.loads(config(objects, "serving-proxy-config", "route_table.json"))["route_table"]
    for pid in (9999, 10000):
        ep = plan["clusters"][f"fed-serving-{pid}"]["endpoints"]["serving_proxy"]
        assert routes[str(pid)]["default"] == [{"ip": node_ip(pid), "port": str(ep["port"])}]


FULL = {
    "fate_registry": "harbor.example.com/federatedai",
    "fate_image_pull_secrets": ["harbor-pull"],
    "fate_pull_policy": "Always",
    "fate_persistence": True,
    "fate_storage_class": "fast",
    "fate_node_selector": {"pool": "fate"},
    "fate_tolerations": [{"key": "dedicated", "operator": "Equal", "value": "fate", "effect": "NoSchedule"}],
    "fate_affinity": {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["fate"]}]}]
            }
        }
    },
    "fate_resources": {
        "python": {"requests": {"cpu": "1", "memory": "2Gi"}},
        "nodemanager": {"limits": {"memory": "8Gi"}},
        "spark_worker": {"requests": {"cpu": "2"}},
        "pulsar": {"requests": {"memory": "1Gi"}},
    },
    "fate_notebook_hashed_password": "argon2:fake",
    "fate_fateboard_username": "board",
    "fate_rabbitmq_password": "rabbit",
    "fate_serving_redis_password": "redis",
    "fate_ingress_domain": "fate.example.org",
}


@pytest.mark.parametrize(
    ("version", "backend", "extra"),
    [
        ("2.0.0", "eggroll", {"fate_gpu": {"enabled": True, "count": 2}}),
        ("2.0.0", "spark_pulsar", {"fate_access": {"type": "LoadBalancer", "address": "203.0.113.7"}}),
        ("1.11.2", "spark_rabbitmq", {"fate_external_mysql": {"ip": "db.example.org", "password": "x"}}),
        ("1.9.1", "eggroll", {"fate_istio": True}),
        ("1.11.2", "spark_local_pulsar", {"fate_access": {"type": "Ingress", "address": "ingress.example.org"}}),
    ],
)
def test_every_setting_renders(renderer, version, backend, extra):
    plan = plan_for(version, backend, "mesh", per_party={9999: dict(FULL, **extra)})
    cluster = plan["clusters"]["fed-fate-9999"]
    objects = render_valid(renderer, cluster)
    pods = [o["spec"]["template"]["spec"] for o in charts_mod.workloads(objects)]
    assert all(p.get("nodeSelector") == {"pool": "fate"} for p in pods if "nodeSelector" in p)
    assert sum("nodeSelector" in p for p in pods) >= len(pods) - 1  # fateboard of chart v1.9 has no placement
    images = {c["image"] for p in pods for c in p["containers"] + p.get("initContainers", [])} - {"busybox"}
    # every image is <fate_registry>/<name> as with KubeFATE 1.x (HDFS: see v2_registry_images)
    assert all(re.match(r"^harbor\.example\.com/federatedai/(federatedai/hadoop-)?[a-z-]+:", i) for i in images), images
    python = next(o for o in charts_mod.workloads(objects) if o["metadata"]["name"] == "python")
    claims = [c["spec"].get("storageClassName") for c in python["spec"].get("volumeClaimTemplates", [])]
    assert claims in ([], ["fast"])
    if "fate_gpu" in extra:
        limits = python["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
        assert limits["nvidia.com/gpu"] == 2
    if "fate_access" in extra:
        services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
        want = {"LoadBalancer": "LoadBalancer", "Ingress": "ClusterIP"}[extra["fate_access"]["type"]]
        assert services["nginx"]["spec"]["type"] == want


def test_sandbox_like_serving_and_exchange_other_versions(renderer):
    """fate-serving and fate-exchange next to FATE 1.9.1 parties (charts do not depend on the FATE version)."""
    plan = plan_for("1.9.1", "eggroll", "star", serving_exchange=True)
    for host in ("fed-exchange", "fed-serving-10000", "fed-serving-exchange"):
        render_valid(renderer, plan["clusters"][host])


def _walk(data, path=()):
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _walk(value, (*path, key))
    else:
        yield path, data


def _get(data, path):
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return "<absent>"
        data = data[part]
    return data


#: Chart defaults the model nulls on purpose: placeholder peers/exchanges of values.yaml, NodePorts of
#: services that are not NodePort/LoadBalancer, serving links of parties without serving.
INTENDED_NULLS = re.compile(
    r"^(partyList|exchangeList|exchange\..*|modules\.serving\.(ip|port)|modules\.lbrollsite\..*|"
    r".*NodePort|.*nodePort|modules\.python\.dependent_distribution|modules\.nodemanager\.subPath)$"
)


@pytest.mark.parametrize(("version", "backend", "topology"), [*MATRIX[::4], ("2.0.0", "spark_pulsar", "star")])
def test_no_chart_default_is_lost(renderer, version, backend, topology):
    """A module section the model emits must not replace a chart default with null (values-template pitfall)."""
    plan = plan_for(version, backend, topology, serving_exchange=topology == "star", common=FULL)
    for cluster in plan["clusters"].values():
        package = CHARTS[(cluster["chart_name"], cluster["chart_version"])]
        values = renderer.values(package, cluster["cluster_yaml"])
        defaults = yaml.safe_load(package.values)
        lost = [
            ".".join(map(str, path))
            for path, default in _walk(defaults)
            if default not in (None, "", [], {})
            and _get(values, path) is None
            and not INTENDED_NULLS.match(".".join(map(str, path)))
        ]
        assert lost == [], (cluster["host"], lost)
