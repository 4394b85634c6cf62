# Copyright: fateops.kubefate contributors
# SPDX-License-Identifier: Apache-2.0 OR GPL-3.0-or-later
# Apache License 2.0 (see LICENSE), or at your option the GNU General Public License v3.0+ (see COPYING)
"""The Kubernetes clusters of an inventory and the KubeFATE server and ingress on each.

The inventory variable ``fate_kube_clusters`` maps each ``fate_kube_cluster`` name used by a deployment to
how that Kubernetes cluster is reached and what runs on it. This module normalises it, fills defaults, and
reports every error naming the cluster and the field, so that a playbook can refuse a bad inventory before
it changes anything. Plain Python, no Ansible objects.
"""

import copy
import os
import re

KUBEFATE_IMAGE = "federatedai/kubefate:v1.4.5"
MARIADB_IMAGE = "mariadb:10"
INGRESS_NGINX_VERSION = "v1.1.3"
RBAC_MODES = ("cluster", "namespace")
SCHEMES = ("http", "https")
CHART_PACKAGE = re.compile(r"^(fate|fate-exchange|fate-serving)-v\d+\.\d+\.\d+\S*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")

DEFAULTS = {
    "kubeconfig": None,
    "context": None,
    "node_ip": None,
    "rbac": "cluster",
    "ingress": {
        "install": False,
        "class_name": "nginx",
        "namespace": "ingress-nginx",
        "service": "ingress-nginx-controller",
        "address": None,
        "http_port": None,
        "https_port": None,
        "version": INGRESS_NGINX_VERSION,
        "registry": "registry.k8s.io",
    },
    "kubefate": {
        "manage": True,
        "url": None,
        "host": None,
        "scheme": "http",
        "namespace": "kube-fate",
        "username": "admin",
        "password": None,
        "allow_default_credentials": False,
        "validate_certs": True,
        "ca_path": None,
        "image": KUBEFATE_IMAGE,
        "registry": "",
        "image_pull_secrets": [],
        "tls_secret": None,
        "resources": None,
        "mariadb": {
            "image": MARIADB_IMAGE,
            "username": "kubefate",
            "password": None,
            "storage_class": None,
            "size": "10Gi",
            "existing_claim": None,
        },
    },
}

KNOWN = {key: (set(value) if isinstance(value, dict) else None) for key, value in DEFAULTS.items()}
KNOWN_MARIADB = set(DEFAULTS["kubefate"]["mariadb"])


def _merge(defaults, given):
    out = copy.deepcopy(defaults)
    for key, value in (given or {}).items():
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def kube_cluster_plan(plan, kube_clusters, default_domain="example.com", charts=None, chart_dir=None):
    """Normalise ``fate_kube_clusters`` for the Kubernetes clusters the federation ``plan`` uses.

    ``charts`` (``fate_charts``) maps a chart package name (``fate-v2.0.0``) to a file on the controller or an
    http(s) URL; ``chart_dir`` (``fate_chart_dir``) is a directory of ``<package>.tgz`` files.

    Returns ``{"kube_clusters": {name: {...settings..., "hosts": [...], "namespaces": [...], "charts": [...],
    "chart_packages": [{"name", "src", "url"}]}}, "errors": [...], "warnings": [...]}``. Each error names the
    cluster or variable and the field.
    """
    errors, warnings = [], []
    sources = chart_sources(charts, chart_dir, errors)
    if kube_clusters is None:
        kube_clusters = {}
    if not isinstance(kube_clusters, dict):
        return {
            "kube_clusters": {},
            "errors": [*errors, "fate_kube_clusters: must be a mapping of cluster name to settings"],
            "warnings": warnings,
        }
    used = {}
    clusters = (plan or {}).get("clusters", {})
    for host in sorted(clusters):
        used.setdefault(clusters[host].get("kube_cluster"), []).append(clusters[host])
    out = {}
    for name in sorted(used, key=str):
        where = f"fate_kube_clusters.{name}"
        given = kube_clusters.get(name)
        users = ", ".join(sorted(e["host"] for e in used[name]))
        if given is None:
            errors.append(f"{where}: not defined, but fate_kube_cluster of {users} names it")
            continue
        if not isinstance(given, dict):
            errors.append(f"{where}: must be a mapping, got {type(given).__name__}")
            continue
        for key in sorted(set(given) - set(KNOWN), key=str):
            warnings.append(f"{where}.{key}: unknown setting, ignored")
        for section in ("ingress", "kubefate"):
            value = given.get(section)
            if value is not None and not isinstance(value, dict):
                errors.append(f"{where}.{section}: must be a mapping, got {type(value).__name__}")
                given = {k: v for k, v in given.items() if k != section}
            elif isinstance(value, dict):
                for key in sorted(set(value) - KNOWN[section], key=str):
                    warnings.append(f"{where}.{section}.{key}: unknown setting, ignored")
        cfg = _merge(DEFAULTS, given)
        kf, ing = cfg["kubefate"], cfg["ingress"]
        if isinstance(kf.get("mariadb"), dict):
            for key in sorted(set(kf["mariadb"]) - KNOWN_MARIADB, key=str):
                warnings.append(f"{where}.kubefate.mariadb.{key}: unknown setting, ignored")
        if cfg["kubeconfig"] in ("", None):
            cfg["kubeconfig"] = None
        elif not isinstance(cfg["kubeconfig"], str):
            errors.append(f"{where}.kubeconfig: must be a file path, got {type(cfg['kubeconfig']).__name__}")
        elif not os.path.isfile(os.path.expanduser(cfg["kubeconfig"])):
            errors.append(f"{where}.kubeconfig: {cfg['kubeconfig']} does not exist on the controller")
        else:
            cfg["kubeconfig"] = os.path.expanduser(cfg["kubeconfig"])
        if cfg["rbac"] not in RBAC_MODES:
            errors.append(f"{where}.rbac: must be one of {', '.join(RBAC_MODES)}, got {cfg['rbac']!r}")
        if not DNS_LABEL.match(str(kf["namespace"] or "")):
            errors.append(f"{where}.kubefate.namespace: {kf['namespace']!r} is not a valid namespace name")
        if kf["scheme"] not in SCHEMES:
            errors.append(f"{where}.kubefate.scheme: must be http or https, got {kf['scheme']!r}")
        if kf["url"] is not None and not re.match(r"^https?://[^/\s]+/?$", str(kf["url"])):
            errors.append(f"{where}.kubefate.url: must be http(s)://host[:port], got {kf['url']!r}")
        if not kf["password"]:
            errors.append(f"{where}.kubefate.password: required (keep it in ansible-vault)")
        elif kf["username"] == "admin" and kf["password"] == "admin" and not kf["allow_default_credentials"]:
            errors.append(
                f"{where}.kubefate.password: admin/admin is KubeFATE's published default; choose another "
                "password or set kubefate.allow_default_credentials: true"
            )
        if kf["manage"]:
            maria = kf["mariadb"] if isinstance(kf["mariadb"], dict) else {}
            if not maria.get("password"):
                errors.append(f"{where}.kubefate.mariadb.password: required when kubefate.manage is true")
            if not isinstance(kf["image_pull_secrets"], list):
                errors.append(f"{where}.kubefate.image_pull_secrets: must be a list of secret names")
        if not kf["host"]:
            kf["host"] = f"kubefate.{default_domain}"
        if kf["url"] is None and not kf["manage"]:
            errors.append(f"{where}.kubefate.url: required when kubefate.manage is false (an existing server)")
        if not isinstance(ing["install"], bool):
            errors.append(f"{where}.ingress.install: must be true or false, got {ing['install']!r}")
        for port_key in ("http_port", "https_port"):
            port = ing[port_key]
            if port is not None and (not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535):
                errors.append(f"{where}.ingress.{port_key}: must be a port number, got {port!r}")
        cfg["name"] = name
        cfg["hosts"] = sorted(e["host"] for e in used[name])
        cfg["namespaces"] = sorted({e["namespace"] for e in used[name]})
        # Chart packages (<chart>-<version>) its deployments install: uploaded once per KubeFATE server.
        cfg["charts"] = sorted({f"{e['chart_name']}-{e['chart_version']}" for e in used[name] if e.get("chart_name")})
        cfg["chart_packages"] = [sources[chart] for chart in cfg["charts"] if chart in sources]
        if cfg["rbac"] == "namespace" and ing["install"] is True:
            errors.append(
                f"{where}.ingress.install: installing ingress-nginx needs cluster rights, which rbac: namespace "
                "does not have; use the cluster's controller (ingress.address, ingress.http_port)"
            )
        elif cfg["rbac"] == "namespace" and not ing["address"]:
            warnings.append(
                f"{where}.ingress.address: not set with rbac: namespace; finding the controller reads its service "
                f"in namespace {ing['namespace']}, which needs rights there"
            )
        if (
            cfg["rbac"] == "namespace"
            and not cfg["node_ip"]
            and any(e.get("access_type") == "NodePort" and not _has_address(e) for e in used[name])
        ):
            errors.append(
                f"{where}.node_ip: required with rbac: namespace (KubeFATE cannot list nodes without cluster "
                f"rights) for the NodePort deployments {users}"
            )
        out[name] = cfg
    needed = {chart for cfg in out.values() for chart in cfg["charts"]}
    for chart in sorted(set(charts or {}) - needed) if isinstance(charts, dict) else ():
        warnings.append(f"fate_charts.{chart}: no deployment of this inventory installs it; not uploaded")
    return {"kube_clusters": out, "errors": errors, "warnings": warnings}


def chart_sources(charts, chart_dir, errors):
    """Where each chart package comes from: ``fate_charts`` entries first, then ``fate_chart_dir``."""
    out = {}
    if chart_dir:
        directory = os.path.expanduser(str(chart_dir))
        if not os.path.isdir(directory):
            errors.append(f"fate_chart_dir: {chart_dir} is not a directory on the controller")
        else:
            for entry in sorted(os.listdir(directory)):
                if entry.endswith(".tgz"):
                    out[entry[:-4]] = {"name": entry[:-4], "src": os.path.join(directory, entry), "url": None}
    if charts in (None, ""):
        return out
    if not isinstance(charts, dict):
        errors.append("fate_charts: must map a chart package name (fate-v2.0.0) to a file path or an http(s) URL")
        return out
    for name, value in sorted(charts.items(), key=lambda kv: str(kv[0])):
        where = f"fate_charts.{name}"
        if not CHART_PACKAGE.match(str(name)):
            errors.append(f"{where}: not a chart package name such as fate-v2.0.0, fate-exchange-v1.11.2")
        elif not isinstance(value, str) or not value:
            errors.append(f"{where}: must be a file path or an http(s) URL")
        elif re.match(r"^https?://", value):
            out[name] = {"name": name, "src": None, "url": value}
        elif not os.path.isfile(os.path.expanduser(value)):
            errors.append(f"{where}: {value} does not exist on the controller")
        else:
            out[name] = {"name": name, "src": os.path.expanduser(value), "url": None}
    return out


def _has_address(entry):
    return any(endpoint.get("host") for endpoint in (entry.get("endpoints") or {}).values())
