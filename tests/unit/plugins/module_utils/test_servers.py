"""fate_kube_clusters: defaults, and every error naming the cluster and the field."""

import pytest
from ansible_collections.fateops.kubefate.plugins.module_utils.servers import KUBEFATE_IMAGE, kube_cluster_plan


def plan(*entries):
    clusters = {}
    for host, kube, namespace, access in entries:
        clusters[host] = {
            "host": host,
            "chart_name": "fate-exchange" if host == "exchange" else "fate",
            "chart_version": "v1.11.2" if host == "exchange" else "v2.0.0",
            "kube_cluster": kube,
            "namespace": namespace,
            "access_type": access,
            "endpoints": {"osx": {"host": "10.0.0.1" if access != "NodePort-noaddr" else None, "port": 30091}},
        }
    return {"clusters": clusters}


GOOD = {"kubefate": {"password": "s3cret-pw", "mariadb": {"password": "db-pw"}}}


def test_defaults_hosts_and_namespaces():
    out = kube_cluster_plan(
        plan(("fate-9999", "dc1", "fate-9999", "NodePort"), ("exchange", "dc1", "fate-exchange", "NodePort")),
        {"dc1": GOOD},
        default_domain="fed.example.org",
    )
    assert out["errors"] == [] and out["warnings"] == []
    dc1 = out["kube_clusters"]["dc1"]
    assert dc1["hosts"] == ["exchange", "fate-9999"]
    assert dc1["namespaces"] == ["fate-9999", "fate-exchange"]
    assert dc1["charts"] == ["fate-exchange-v1.11.2", "fate-v2.0.0"]
    assert dc1["kubefate"]["image"] == KUBEFATE_IMAGE
    assert dc1["kubefate"]["host"] == "kubefate.fed.example.org"
    assert dc1["kubefate"]["mariadb"]["size"] == "10Gi" and dc1["kubefate"]["mariadb"]["password"] == "db-pw"
    assert dc1["rbac"] == "cluster" and dc1["ingress"]["install"] is False


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (None, "fate_kube_clusters.dc1: not defined, but fate_kube_cluster of fate-9999 names it"),
        ("dc1", "fate_kube_clusters.dc1: must be a mapping, got str"),
        ({"kubefate": {"mariadb": {"password": "x"}}}, "fate_kube_clusters.dc1.kubefate.password: required"),
        (
            {"kubefate": {"password": "admin", "mariadb": {"password": "x"}}},
            "fate_kube_clusters.dc1.kubefate.password: admin/admin is KubeFATE's published default",
        ),
        ({"kubefate": {"password": "p"}}, "fate_kube_clusters.dc1.kubefate.mariadb.password: required"),
        ({**GOOD, "rbac": "root"}, "fate_kube_clusters.dc1.rbac: must be one of cluster, namespace, got 'root'"),
        (
            {**GOOD, "kubeconfig": "/nonexistent/kubeconfig"},
            "fate_kube_clusters.dc1.kubeconfig: /nonexistent/kubeconfig",
        ),
        (
            {"kubefate": {"password": "p", "url": "kubefate:8080", "mariadb": {"password": "x"}}},
            "fate_kube_clusters.dc1.kubefate.url: must be http(s)://host[:port]",
        ),
        ({"kubefate": {"password": "p", "manage": False}}, "fate_kube_clusters.dc1.kubefate.url: required when"),
        ({**GOOD, "ingress": {"http_port": 70000}}, "fate_kube_clusters.dc1.ingress.http_port: must be a port number"),
        ({**GOOD, "ingress": "nginx"}, "fate_kube_clusters.dc1.ingress: must be a mapping, got str"),
    ],
)
def test_errors_name_the_cluster_and_field(settings, message):
    clusters = {} if settings is None else {"dc1": settings}
    out = kube_cluster_plan(plan(("fate-9999", "dc1", "fate-9999", "NodePort")), clusters)
    assert any(error.startswith(message) for error in out["errors"]), out["errors"]


def test_default_credentials_can_be_allowed_explicitly():
    settings = {"kubefate": {"password": "admin", "allow_default_credentials": True, "mariadb": {"password": "x"}}}
    out = kube_cluster_plan(plan(("fate-9999", "dc1", "fate-9999", "NodePort")), {"dc1": settings})
    assert out["errors"] == []


def test_unknown_settings_warn():
    out = kube_cluster_plan(plan(("fate-9999", "dc1", "fate-9999", "NodePort")), {"dc1": {**GOOD, "colour": "red"}})
    assert out["warnings"] == ["fate_kube_clusters.dc1.colour: unknown setting, ignored"]


def test_namespace_rbac_needs_node_ip_for_nodeport_parties_without_address():
    entries = plan(("fate-9999", "dc1", "fate-9999", "NodePort"))
    entries["clusters"]["fate-9999"]["endpoints"] = {"osx": {"host": None, "port": 30091}}
    out = kube_cluster_plan(entries, {"dc1": {**GOOD, "rbac": "namespace"}})
    assert any(e.startswith("fate_kube_clusters.dc1.node_ip: required with rbac: namespace") for e in out["errors"])
    out = kube_cluster_plan(entries, {"dc1": {**GOOD, "rbac": "namespace", "node_ip": "10.0.0.9"}})
    assert out["errors"] == []


def test_existing_kubeconfig_is_accepted(tmp_path):
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text("apiVersion: v1\n")
    out = kube_cluster_plan(
        plan(("fate-9999", "dc1", "fate-9999", "NodePort")), {"dc1": {**GOOD, "kubeconfig": str(kubeconfig)}}
    )
    assert out["errors"] == [] and out["kube_clusters"]["dc1"]["kubeconfig"] == str(kubeconfig)


def test_namespace_rbac_cannot_install_ingress_and_warns_without_its_address():
    entries = plan(("fate-9999", "dc1", "fate-9999", "NodePort"))
    out = kube_cluster_plan(entries, {"dc1": {**GOOD, "rbac": "namespace", "ingress": {"install": True}}})
    assert any(
        e.startswith("fate_kube_clusters.dc1.ingress.install: installing ingress-nginx needs") for e in out["errors"]
    )
    out = kube_cluster_plan(entries, {"dc1": {**GOOD, "rbac": "namespace"}})
    assert out["errors"] == []
    assert out["warnings"] == [
        "fate_kube_clusters.dc1.ingress.address: not set with rbac: namespace; finding the controller reads its "
        "service in namespace ingress-nginx, which needs rights there"
    ]


def test_chart_sources_from_fate_charts_and_the_chart_dir(tmp_path):
    (tmp_path / "fate-v2.0.0.tgz").write_bytes(b"x")
    (tmp_path / "fate-v1.9.1.tgz").write_bytes(b"x")
    entries = plan(("fate-9999", "dc1", "fate-9999", "NodePort"), ("exchange", "dc1", "fate-exchange", "NodePort"))
    url = "https://charts.example.org/fate-exchange-v1.11.2.tgz"
    out = kube_cluster_plan(entries, {"dc1": GOOD}, charts={"fate-exchange-v1.11.2": url}, chart_dir=str(tmp_path))
    assert out["errors"] == []
    assert out["kube_clusters"]["dc1"]["chart_packages"] == [
        {"name": "fate-exchange-v1.11.2", "src": None, "url": url},
        {"name": "fate-v2.0.0", "src": str(tmp_path / "fate-v2.0.0.tgz"), "url": None},
    ]


@pytest.mark.parametrize(
    ("charts", "chart_dir", "message"),
    [
        ("x", None, "fate_charts: must map a chart package name"),
        ({"fate-2.0": "/x.tgz"}, None, "fate_charts.fate-2.0: not a chart package name"),
        ({"fate-v2.0.0": 7}, None, "fate_charts.fate-v2.0.0: must be a file path or an http(s) URL"),
        (
            {"fate-v2.0.0": "/nonexistent/fate.tgz"},
            None,
            "fate_charts.fate-v2.0.0: /nonexistent/fate.tgz does not exist",
        ),
        (None, "/nonexistent/charts", "fate_chart_dir: /nonexistent/charts is not a directory on the controller"),
    ],
)
def test_bad_chart_sources_name_the_variable(charts, chart_dir, message):
    out = kube_cluster_plan(
        plan(("fate-9999", "dc1", "fate-9999", "NodePort")), {"dc1": GOOD}, charts=charts, chart_dir=chart_dir
    )
    assert any(e.startswith(message) for e in out["errors"]), out["errors"]


def test_unused_chart_package_is_a_warning():
    out = kube_cluster_plan(
        plan(("fate-9999", "dc1", "fate-9999", "NodePort")), {"dc1": GOOD}, charts={"fate-v1.9.1": "https://x/y.tgz"}
    )
    assert out["errors"] == []
    assert out["warnings"] == ["fate_charts.fate-v1.9.1: no deployment of this inventory installs it; not uploaded"]
