# Copyright: fateops.kubefate contributors
# SPDX-License-Identifier: Apache-2.0 OR GPL-3.0-or-later
# Apache License 2.0 (see LICENSE), or at your option the GNU General Public License v3.0+ (see COPYING)
"""The federation model: from inventory host variables to one KubeFATE cluster.yaml per host.

Plain Python (standard library only) so that filters, modules and tests share it. The entry points are
:func:`build_plan` (everything: normalised federations, one cluster per host, errors and warnings) and
:func:`validate_federation` (only the preflight errors and warnings).

Inventory contract (documented for users in ``inventories/example/hosts.yml``):

* every host is one KubeFATE cluster (a Helm release): ``fate_deployment`` is ``fate`` (training cluster,
  chart ``fate``), ``serving`` (chart ``fate-serving``), ``exchange`` (chart ``fate-exchange``) or
  ``serving_exchange`` (chart ``fate-serving`` with only ``servingProxy``);
* an inventory group per party sets ``fate_party_id``; a parent group sets ``fate_federation`` and
  ``fate_topology`` (``mesh``: every party lists every other one, ``star``: through the exchange).

NodePorts that are not pinned are allocated per Kubernetes cluster (``fate_kube_cluster``) in blocks of
ten ports. Every party of a federation owns one block for all its deployments on that Kubernetes cluster
(the exchange owns one too); inside a block each endpoint has a fixed offset, the same layout as
KubeFATE's own examples (party 9999 = block 30090: rollsite/osx 30091, fateflow gRPC 30092, nginx HTTP
30093, pulsar/rabbitmq 30094, serving-server 30095, serving-proxy 30096, fateflow HTTP 30097, nginx
gRPC 30098, pulsar TLS 30099; exchange = block 30000: rollsite/trafficServer 30000, nginx 30003/30008,
serving-proxy 30006). A party prefers block ``1 + (partyId - 1) % 275`` (so 30000 + 10 * block), the
exchange prefers block 0. Owners are placed in a fixed order (pinned blocks, exchanges by federation
name, parties by party id); an owner whose preferred block is taken, or holds a pinned port it needs,
takes the next free block once every owner that can have its preferred block has it (a warning says so:
pin ``fate_node_port_base`` to keep it there). Stability when parties are added: an owner on its preferred
block keeps it unless the new party prefers the same block and has a smaller id; owners that probed may
move (hence the warning); adding a party whose id is larger than every other party id on that Kubernetes
cluster moves nothing.
"""

import copy
import difflib
import re

FATE_VERSIONS = ("1.9.0", "1.9.1", "1.9.2", "1.10.0", "1.11.1", "1.11.2", "2.0.0")

#: Chart versions this collection knows how to write a cluster.yaml for.
KNOWN_CHART_VERSIONS = {
    "fate": tuple("v" + v for v in FATE_VERSIONS),
    "fate-exchange": ("v1.9.0", "v1.9.1", "v1.9.2", "v1.10.0", "v1.11.1", "v1.11.2"),
    "fate-serving": ("v2.0.0", "v2.0.4", "v2.1.5", "v2.1.6"),
}
DEFAULT_SERVING_CHART_VERSION = "v2.1.6"
DEFAULT_EXCHANGE_CHART_VERSION = "v1.11.2"

DEPLOYMENT_CHARTS = {
    "fate": "fate",
    "serving": "fate-serving",
    "exchange": "fate-exchange",
    "serving_exchange": "fate-serving",
}
TOPOLOGIES = ("mesh", "star")
ACCESS_TYPES = ("NodePort", "LoadBalancer", "Ingress")
SERVICE_TYPES = {"NodePort": "NodePort", "LoadBalancer": "LoadBalancer", "Ingress": "ClusterIP"}
ALGORITHMS = ("Basic", "NN", "ALL")
DEVICES = ("CPU", "IPCL", "GPU")

#: backend -> computing / federation engine / storage (contract 4.3). ``engine`` groups compatible backends.
BACKENDS = {
    "eggroll": {"computing": "Eggroll", "federation": "Eggroll", "storage": "Eggroll", "engine": "eggroll"},
    "spark_rabbitmq": {"computing": "Spark", "federation": "RabbitMQ", "storage": "HDFS", "engine": "rabbitmq"},
    "spark_pulsar": {"computing": "Spark", "federation": "Pulsar", "storage": "HDFS", "engine": "pulsar"},
    "spark_local_pulsar": {
        "computing": "Spark_local",
        "federation": "Pulsar",
        "storage": "LocalFS",
        "engine": "pulsar",
    },
    "spark_local_rabbitmq": {
        "computing": "Spark_local",
        "federation": "RabbitMQ",
        "storage": "LocalFS",
        "engine": "rabbitmq",
    },
}

NODE_PORT_MIN = 30000
NODE_PORT_MAX = 32767
BLOCK_SIZE = 10
BLOCK_COUNT = (NODE_PORT_MAX - NODE_PORT_MIN + 1) // BLOCK_SIZE  # 276 blocks: 30000-32759

#: Service port of every endpoint (what a peer uses behind a LoadBalancer or an Ingress TCP passthrough).
SERVICE_PORTS = {
    "rollsite": 9370,
    "osx": 9370,
    "fateflow_grpc": 9360,
    "fateflow_http": 9380,
    "nginx_http": 9300,
    "nginx_grpc": 9310,
    "pulsar": 6650,
    "pulsar_tls": 6651,
    "rabbitmq": 5672,
    "serving_server": 8000,
    "serving_proxy": 8869,
    "traffic_server": 443,
}
ENDPOINT_NAMES = tuple(sorted(SERVICE_PORTS))

#: Offsets inside a party's block (KubeFATE example layout) and inside the exchange block.
PARTY_OFFSETS = {
    "rollsite": 1,
    "osx": 1,
    "fateflow_grpc": 2,
    "nginx_http": 3,
    "pulsar": 4,
    "rabbitmq": 4,
    "serving_server": 5,
    "serving_proxy": 6,
    "fateflow_http": 7,
    "nginx_grpc": 8,
    "pulsar_tls": 9,
}
EXCHANGE_OFFSETS = {"rollsite": 0, "traffic_server": 0, "nginx_http": 3, "serving_proxy": 6, "nginx_grpc": 8}

#: Modules of chart ``fate`` that read ``resources`` (values-template.yaml v1.9 - v2.0.0).
RESOURCE_MODULES = (
    "rollsite",
    "osx",
    "lbrollsite",
    "python",
    "clustermanager",
    "nodemanager",
    "spark_master",
    "spark_worker",
    "rabbitmq",
    "pulsar",
)

#: Modules with a PersistentVolumeClaim whose ``storageClass`` follows ``fate_storage_class``.
PVC_MODULES = {
    "fate": ("python", "nodemanager", "client", "mysql", "hdfs.namenode", "hdfs.datanode", "pulsar"),
    "fate-serving": ("servingRedis", "servingServer", "servingZookeeper"),
    "fate-exchange": (),
}


def _words(text):
    return frozenset(text.split())


#: Top-level keys each chart's values-template.yaml reads (others are ignored by KubeFATE, silently).
KNOWN_TOP_LEVEL_KEYS = {
    "fate": _words(
        (
            "name namespace chartName chartVersion partyId registry pullPolicy imagePullSecrets persistence "
            "istio podSecurityPolicy ingressClassName modules computing federation storage algorithm device "
            "ingress rollsite osx lbrollsite python clustermanager nodemanager client mysql fateboard spark "
            "hdfs nginx rabbitmq pulsar servingIp servingPort serving externalMysqlIp externalMysqlPort "
            "externalMysqlDatabase externalMysqlUser externalMysqlPassword skippedKeys"
        )
    ),
    "fate-exchange": _words(
        (
            "name namespace chartName chartVersion partyId registry pullPolicy imagePullSecrets persistence "
            "istio podSecurityPolicy modules rollsite nginx trafficServer"
        )
    ),
    "fate-serving": _words(
        (
            "name namespace chartName chartVersion partyId registry pullPolicy imagePullSecrets persistence "
            "istio podSecurityPolicy ingressClassName ingress servingProxy servingRedis servingServer "
            "servingZookeeper servingAdmin externalRedisIp externalRedisPort externalRedisPassword"
        )
    ),
}
IDENTITY_KEYS = ("name", "namespace", "chartName", "chartVersion", "partyId")

#: Keys a chart's values-template renders *without* a default inside a module section: emitting the section
#: without them would replace the chart's values.yaml default with null. Filled in (setdefault) whenever the
#: section is present, from the chart's own values.yaml (checked against the real charts by the unit tests).
_STICKY_FATE_COMMON = {
    "client": {"subPath": "client"},
    "mysql": {"subPath": "mysql"},
    "fateboard": {"type": "ClusterIP", "username": "admin", "password": "admin"},
    "rabbitmq": {"default_user": "fate", "default_pass": "fate", "user": "fate", "password": "fate"},
    "spark.master": {"replicas": 1, "type": "ClusterIP"},
    "spark.worker": {"replicas": 2},
}
STICKY_DEFAULTS = {
    "fate-1.9": dict(_STICKY_FATE_COMMON, nodemanager={"sessionProcessorsPerNode": 2, "subPath": "nodemanager"}),
    "fate-1.10": dict(
        _STICKY_FATE_COMMON,
        nodemanager={"sessionProcessorsPerNode": 4, "subPath": "nodemanager"},
        clustermanager={"mysqlServerTimezone": "UTC"},
    ),
    "fate-serving": {
        "servingZookeeper": {"storageClass": "serving-zookeeper"},
        "servingAdmin": {"username": "admin", "password": "admin"},
    },
    "fate-exchange": {},
}

FATE_MODULE_ORDER = {
    "eggroll": ("{gateway}", "clustermanager", "nodemanager", "mysql", "python", "fateboard", "client"),
    "spark": ("python", "mysql", "fateboard", "client", "spark", "hdfs", "nginx", "{engine}"),
    "spark_local": ("python", "mysql", "fateboard", "client", "nginx", "{engine}"),
}
SERVING_MODULES = ("servingProxy", "servingRedis", "servingServer", "servingZookeeper", "servingAdmin")

#: Every variable of the contract (used to spot misspelt ``fate_*`` variables).
KNOWN_VARIABLES = _words(
    (
        "fate_federation fate_topology fate_deployment fate_party_id fate_version fate_chart_version "
        "fate_serving_chart_version fate_exchange_chart_version fate_backend fate_kube_cluster "
        "fate_namespace fate_cluster_name fate_access fate_node_ports fate_node_port_base fate_registry "
        "fate_pull_policy fate_image_pull_secrets fate_persistence fate_storage_class "
        "fate_ingress_class_name fate_ingress_domain fate_ingress_hosts fate_istio fate_algorithm "
        "fate_device fate_gpu fate_external_mysql fate_mysql_password fate_fateboard_username "
        "fate_fateboard_password fate_notebook_hashed_password fate_serving_admin_username "
        "fate_serving_admin_password fate_serving_redis_password fate_rabbitmq_user "
        "fate_rabbitmq_password fate_node_selector fate_tolerations fate_affinity fate_resources "
        "fate_pulsar_exchange_domain fate_overrides"
    )
)

#: Inventory variables that the playbooks read (documented in the example inventory), not the model.
PLAYBOOK_VARIABLES = _words(
    "fate_kube_clusters fate_chart_dir fate_charts fate_chart_cache fate_registry_credentials fate_wait_timeout "
    "fate_wait_sleep fate_render_dir fate_render_hosts fate_upgrade_serial fate_delete_confirm fate_delete_namespaces "
    "fate_delete_servers fate_remove_party fate_logs_dest fate_logs_tail fate_logs_since "
    "fate_logs_previous fate_cert_dir fate_cert_files fate_cert_rotate fate_cert_rotate_ca fate_verify_pairs "
    "fate_verify_pod fate_verify_task_cores fate_verify_timeout"
)
#: Facts the playbooks set on every deployment host; never inventory input.
PLAYBOOK_FACTS = _words(
    "fate_plan fate_kube_plan fate_deploy fate_kube fate_kube_leader fate_kubefate fate_server_ready fate_summary"
)

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.:\-]*[A-Za-z0-9])?$")


class FederationError(Exception):
    """Raised by helpers that need a plan without errors."""


# --------------------------------------------------------------------------------------------- helpers


def chart_version_tuple(version):
    """``"v1.11.2"`` -> ``(1, 11, 2)``; unknown shapes sort first."""
    parts = re.findall(r"\d+", str(version))
    return tuple(int(p) for p in parts[:3]) if parts else (0,)


def gateway_module(chart_version):
    """The eggroll federation gateway of chart ``fate``: ``osx`` from v2.0.0, ``rollsite`` before."""
    return "osx" if chart_version_tuple(chart_version) >= (2, 0, 0) else "rollsite"


#: Image names of chart fate v2.0.0 modules (its defaults are ``federatedai/<name>``, mysql ``mysql``).
V2_IMAGE_NAMES = {
    "osx": "osx",
    "python": "fateflow",
    "clustermanager": "eggroll",
    "nodemanager": "eggroll",
    "client": "client",
    "mysql": "mysql",
    "fateboard": "fateboard",
    "nginx": "nginx",
    "rabbitmq": "rabbitmq",
    "pulsar": "pulsar",
    "spark.master": "spark-master",
    "spark.worker": "spark-worker",
}


def normalise_registry(registry, chart_name, chart_version):
    """The ``registry`` value of a cluster.yaml for ``fate_registry``.

    ``fate_registry`` has KubeFATE 1.x's meaning for every chart: the registry path holding the images, pulled
    as ``<registry>/<name>`` (``mysql``, ``fluent-bit``, ``redis``... included); ``federatedai`` (Docker Hub)
    is the charts' default and gives an empty value. Chart fate v1.x, fate-exchange and fate-serving get it
    without a trailing ``/``. Chart fate v2.0.0 builds ``<registry><module image>``: it gets the raw prefix
    ``<registry>/`` (with the trailing ``/`` it needs) and :func:`v2_registry_images` sets every module's
    ``image`` to its bare name, so images stay ``<registry>/<name>`` as with 1.x.
    """
    if not registry:
        return ""
    registry = str(registry).strip().rstrip("/")
    if registry in ("", "federatedai", "docker.io/federatedai"):
        return ""
    if chart_name == "fate" and chart_version_tuple(chart_version) >= (2, 0, 0):
        return registry + "/"
    return registry


def v2_registry_images(spec, modules, h=None):
    """Per-module ``image`` keys that make chart fate v2.0.0 pull ``<registry>/<name>`` (see normalise_registry).

    The v2.0.0 nodemanager template pulls its fluent-bit sidecar as ``<registry>/fluent-bit`` (a double ``/``
    with the raw prefix, an invalid image name), so without HDFS (eggroll, Spark_local) the registry is written
    without the trailing ``/`` and the module images as ``/<name>``. HDFS shares one ``hdfs.image`` between
    namenode and datanode, so with HDFS the prefix keeps its ``/`` and HDFS images stay at the chart's
    ``<registry>/federatedai/hadoop-namenode|datanode``.
    """
    prefix = spec.get("registry") or ""
    if not prefix:
        return
    leading = ""
    if "hdfs" not in modules:
        spec["registry"] = prefix.rstrip("/")
        leading = "/"
    elif h is not None:
        h.warn(
            "fate_registry",
            "chart fate %s pulls HDFS images as %sfederatedai/hadoop-namenode and %sfederatedai/hadoop-datanode "
            "(one hdfs.image for both): mirror them there" % (h.chart_version, prefix, prefix),
        )
    for dotted, name in V2_IMAGE_NAMES.items():
        if dotted.split(".", maxsplit=1)[0] in modules:
            node = spec
            for part in dotted.split("."):
                node = node.setdefault(part, {})
            node["image"] = leading + name


def deep_merge(base, override):
    """Merge ``override`` into ``base`` (returned): maps merge recursively, everything else is replaced.

    Nested maps of ``base`` are copied before they change, so structures shared between hosts stay intact.

    When ``base`` is keyed by integers (party ids in route tables), numeric string keys of ``override``
    address the same entries.
    """
    int_keyed = any(isinstance(k, int) and not isinstance(k, bool) for k in base)
    for raw_key, value in override.items():
        key = int(raw_key) if int_keyed and isinstance(raw_key, str) and raw_key.isdigit() else raw_key
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = deep_merge(dict(base[key]), value)  # copy first: route entries are shared
        else:
            base[key] = copy.deepcopy(value)
    return base


def _section(spec, dotted):
    node = spec
    for part in dotted.split("."):
        nxt = node.get(part) if isinstance(node, dict) else None
        if not isinstance(nxt, dict):
            return None
        node = nxt
    return node


def _sticky_key(chart_name, chart_version):
    if chart_name == "fate":
        return "fate-1.9" if chart_version_tuple(chart_version) < (1, 10, 0) else "fate-1.10"
    return chart_name


def fill_sticky_defaults(spec, chart_name, chart_version):
    """Give every emitted module section the chart defaults its values-template would otherwise null."""
    for dotted, defaults in STICKY_DEFAULTS.get(_sticky_key(chart_name, chart_version), {}).items():
        section = _section(spec, dotted)
        if section is not None:
            for key, value in defaults.items():
                section.setdefault(key, value)
    hdfs = spec.get("hdfs")
    if isinstance(hdfs, dict):  # the template dereferences .namenode and .datanode whenever hdfs is present
        hdfs.setdefault("namenode", {})
        hdfs.setdefault("datanode", {})
    traffic = spec.get("trafficServer")
    if isinstance(traffic, dict):  # the exchange template dereferences .route_table.sni
        if not isinstance(traffic.get("route_table"), dict):
            traffic["route_table"] = {}
        traffic["route_table"].setdefault("sni", [])
    return spec


# --------------------------------------------------------------------------------------------- report


class _Report:
    def __init__(self):
        self.errors = []
        self.warnings = []
        self.host_warnings = {}
        self._seen = set()

    def error(self, where, field, message):
        text = "%s: %s: %s" % (where, field, message) if field else "%s: %s" % (where, message)
        if text not in self._seen:
            self._seen.add(text)
            self.errors.append(text)

    def warn(self, where, field, message, host=None):
        text = "%s: %s: %s" % (where, field, message) if field else "%s: %s" % (where, message)
        if text not in self._seen:
            self._seen.add(text)
            self.warnings.append(text)
            if host is not None:
                self.host_warnings.setdefault(host, []).append(text)


# --------------------------------------------------------------------------------------------- host


class _Host:
    """One inventory host, normalised and type-checked."""

    def __init__(self, name, hv, report):
        self.host = name
        self.report = report
        groups = hv.get("group_names") or []
        self.groups = [str(g) for g in groups] if isinstance(groups, (list, tuple)) else []
        self.where = "host '%s'" % name + (" (groups: %s)" % ", ".join(self.groups) if self.groups else "")
        self.vars = hv
        self.node_ports = {}
        self.endpoints = {}
        self.needs_address_by = []
        self.owner = None
        self._read()

    # -- typed getters
    def err(self, field, message):
        self.report.error(self.where, field, message)

    def warn(self, field, message):
        self.report.warn(self.where, field, message, host=self.host)

    def _str(self, key, default=None, choices=None, required=False):
        value = self.vars.get(key)
        if value is None or value == "":
            if required:
                self.err(key, "is required")
            return default
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.err(key, "expected a string, got %s" % type(value).__name__)
            return default
        value = str(value).strip()
        if choices is not None and value not in choices:
            self.err(key, "must be one of %s, got '%s'" % (", ".join(choices), value))
            return default
        return value

    def _bool(self, key, default=False):
        value = self.vars.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
            return value.lower() in ("true", "yes", "on", "1")
        self.err(key, "expected a boolean, got %r" % (value,))
        return default

    def _int(self, key, default=None, required=False, minimum=None):
        value = self.vars.get(key)
        if value is None or value == "":
            if required:
                self.err(key, "is required")
            return default
        number = _as_int(value)
        if number is None:
            self.err(key, "expected an integer, got %r (%s)" % (value, type(value).__name__))
            return default
        if minimum is not None and number < minimum:
            self.err(key, "must be >= %d, got %d" % (minimum, number))
            return default
        return number

    def _dict(self, key):
        value = self.vars.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.err(key, "expected a dict, got %s" % type(value).__name__)
            return {}
        return value

    def _list(self, key):
        value = self.vars.get(key)
        if value is None:
            return []
        if not isinstance(value, (list, tuple)):
            self.err(key, "expected a list, got %s" % type(value).__name__)
            return []
        return list(value)

    # -- reading
    def _read(self):
        self.federation = self._str("fate_federation", required=True)
        self.topology = self._str("fate_topology", "mesh", TOPOLOGIES)
        self.kind = self._str("fate_deployment", "fate", tuple(DEPLOYMENT_CHARTS))
        self.chart_name = DEPLOYMENT_CHARTS.get(self.kind, "fate")
        is_exchange = self.kind in ("exchange", "serving_exchange")
        self.party_id = self._int("fate_party_id", 1 if is_exchange else None, required=not is_exchange, minimum=1)
        self._read_version()
        self.backend = self._str("fate_backend", "eggroll", tuple(BACKENDS))
        self.engine = BACKENDS.get(self.backend or "eggroll", BACKENDS["eggroll"])["engine"]
        self.gateway = gateway_module(self.chart_version) if self.chart_name == "fate" else "rollsite"
        self.kube_cluster = self._str("fate_kube_cluster", "default")
        self._read_names()
        self._read_access()
        self._read_settings()

    def _read_version(self):
        raw = self.vars.get("fate_version")
        version = None
        if raw is not None and raw != "":
            if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
                self.err("fate_version", "expected a string such as '2.0.0', got %s" % type(raw).__name__)
            else:
                version = str(raw).strip().lstrip("vV")
                if version not in FATE_VERSIONS:
                    self.err("fate_version", "unknown FATE version '%s' (known: %s)" % (raw, ", ".join(FATE_VERSIONS)))
                    version = None
        elif self.kind == "fate":
            self.err("fate_version", "is required for a training cluster (one of %s)" % ", ".join(FATE_VERSIONS))
        self.version = version
        key, default = {
            "fate": ("fate_chart_version", "v" + version if version else None),
            "serving": ("fate_serving_chart_version", DEFAULT_SERVING_CHART_VERSION),
            "serving_exchange": ("fate_serving_chart_version", DEFAULT_SERVING_CHART_VERSION),
            "exchange": ("fate_exchange_chart_version", DEFAULT_EXCHANGE_CHART_VERSION),
        }.get(self.kind, ("fate_chart_version", None))
        chart_version = self._str(key, default)
        if chart_version and not chart_version.startswith("v"):
            chart_version = "v" + chart_version
        known = KNOWN_CHART_VERSIONS[self.chart_name]
        if chart_version and chart_version not in known:
            self.err(
                key, "unknown %s chart version '%s' (known: %s)" % (self.chart_name, chart_version, ", ".join(known))
            )
        self.chart_version = chart_version or known[-1]

    def _read_names(self):
        default_ns = {
            "fate": "fate-%s" % self.party_id,
            "serving": "fate-serving-%s" % self.party_id,
            "exchange": "fate-exchange",
            "serving_exchange": "fate-serving-exchange",
        }.get(self.kind, "fate-%s" % self.party_id)
        self.namespace = self._str("fate_namespace", default_ns)
        self.name = self._str("fate_cluster_name", self.namespace)
        for key, value, limit in (("fate_namespace", self.namespace, 63), ("fate_cluster_name", self.name, 53)):
            if self.party_id is None and key not in self.vars:
                continue  # derived from a missing party id: already reported
            if value and (len(value) > limit or not _DNS_LABEL.match(value)):
                self.err(
                    key, "'%s' is not a valid name (lower-case RFC 1123 label, at most %d characters)" % (value, limit)
                )
        if self.kube_cluster is not None and not self.kube_cluster:
            self.err("fate_kube_cluster", "must not be empty")

    def _read_access(self):
        access = self._dict("fate_access")
        kind = access.get("type", "NodePort")
        if kind not in ACCESS_TYPES:
            self.err("fate_access.type", "must be one of %s, got %r" % (", ".join(ACCESS_TYPES), kind))
            kind = "NodePort"
        self.access_type = kind
        address = access.get("address")
        if address is not None and (not isinstance(address, str) or not _HOST_RE.match(address.strip())):
            self.err("fate_access.address", "expected an IP address or a host name, got %r" % (address,))
            address = None
        self.address = address.strip() if address else None
        addresses = access.get("addresses") or {}
        if not isinstance(addresses, dict):
            self.err("fate_access.addresses", "expected a dict of endpoint name to address")
            addresses = {}
        for key in addresses:
            if key not in SERVICE_PORTS:
                self.err("fate_access.addresses.%s" % key, "unknown endpoint (known: %s)" % ", ".join(ENDPOINT_NAMES))
        self.addresses = {k: str(v) for k, v in addresses.items() if k in SERVICE_PORTS and v}
        self.request_ip = access.get("request_ip", False) is True
        unknown = sorted(set(access) - {"type", "address", "addresses", "request_ip"})
        if unknown:
            self.err(
                "fate_access", "unknown keys %s (known: type, address, addresses, request_ip)" % ", ".join(unknown)
            )
        pins = self._dict("fate_node_ports")
        self.pins = {}
        for key, value in pins.items():
            if key not in SERVICE_PORTS:
                self.err("fate_node_ports.%s" % key, "unknown endpoint (known: %s)" % ", ".join(ENDPOINT_NAMES))
                continue
            port = _as_int(value)
            if port is None:
                self.err("fate_node_ports.%s" % key, "expected an integer port, got %r" % (value,))
            elif not NODE_PORT_MIN <= port <= NODE_PORT_MAX:
                self.err(
                    "fate_node_ports.%s" % key,
                    "%d is outside the NodePort range %d-%d" % (port, NODE_PORT_MIN, NODE_PORT_MAX),
                )
            else:
                self.pins[key] = port
        base = self._int("fate_node_port_base")
        if base is not None and (
            base % BLOCK_SIZE or not NODE_PORT_MIN <= base <= NODE_PORT_MIN + (BLOCK_COUNT - 1) * BLOCK_SIZE
        ):
            self.err(
                "fate_node_port_base",
                "%d must be a multiple of %d between %d and %d"
                % (base, BLOCK_SIZE, NODE_PORT_MIN, NODE_PORT_MIN + (BLOCK_COUNT - 1) * BLOCK_SIZE),
            )
            base = None
        self.node_port_base = base

    def _read_settings(self):
        self.registry = self._str("fate_registry", "")
        self.pull_policy = self._str("fate_pull_policy", None, ("Always", "IfNotPresent", "Never"))
        secrets = self._list("fate_image_pull_secrets")
        self.pull_secrets = []
        for item in secrets:
            name = item.get("name") if isinstance(item, dict) else item
            if not isinstance(name, str) or not name:
                self.err("fate_image_pull_secrets", "expected a list of secret names, got item %r" % (item,))
            else:
                self.pull_secrets.append(name)
        self.persistence = self._bool("fate_persistence", False)
        self.storage_class = self._str("fate_storage_class")
        self.ingress_class = self._str("fate_ingress_class_name", "nginx")
        self.ingress_domain = self._str("fate_ingress_domain", "example.com")
        self.ingress_hosts = self._dict("fate_ingress_hosts")
        self.istio = self._bool("fate_istio", False)
        self.algorithm = self._str("fate_algorithm", None, ALGORITHMS)
        self.device = self._str("fate_device", None, DEVICES)
        gpu = self._dict("fate_gpu")
        self.gpu_enabled = gpu.get("enabled", bool(gpu)) is True
        self.gpu_count = _as_int(gpu.get("count", 1))
        if self.gpu_count is None or self.gpu_count < 1:
            self.err("fate_gpu.count", "expected a positive integer, got %r" % (gpu.get("count"),))
            self.gpu_count = 1
        self.external_mysql = self._dict("fate_external_mysql")
        for key in self.external_mysql:
            if key not in ("ip", "port", "database", "user", "password"):
                self.err("fate_external_mysql.%s" % key, "unknown key (known: ip, port, database, user, password)")
        if self.external_mysql and not self.external_mysql.get("ip"):
            self.err("fate_external_mysql.ip", "is required when fate_external_mysql is set")
        self.secrets = {}
        for key in (
            "fate_mysql_password",
            "fate_fateboard_username",
            "fate_fateboard_password",
            "fate_notebook_hashed_password",
            "fate_serving_admin_username",
            "fate_serving_admin_password",
            "fate_serving_redis_password",
            "fate_rabbitmq_user",
            "fate_rabbitmq_password",
        ):
            value = self._str(key)
            if value is not None:
                self.secrets[key] = value
        self.node_selector = self._dict("fate_node_selector")
        self.tolerations = self._list("fate_tolerations")
        self.affinity = self._dict("fate_affinity")
        self.resources = self._dict("fate_resources")
        for module, value in self.resources.items():
            if not isinstance(value, dict):
                self.err("fate_resources.%s" % module, "expected a dict such as {requests: {cpu: '1'}}")
        self.pulsar_domain = self._str("fate_pulsar_exchange_domain", "fate.org")
        overrides = self.vars.get("fate_overrides")
        if overrides is not None and not isinstance(overrides, dict):
            self.err(
                "fate_overrides", "expected a dict deep-merged into the cluster.yaml, got %s" % type(overrides).__name__
            )
            overrides = None
        self.overrides = overrides or {}
        for key in self.vars:
            if (
                isinstance(key, str)
                and key.startswith("fate_")
                and key not in KNOWN_VARIABLES
                and key not in PLAYBOOK_VARIABLES
                and key not in PLAYBOOK_FACTS
            ):
                close = difflib.get_close_matches(key, KNOWN_VARIABLES, n=1, cutoff=0.85)
                if close:
                    self.warn(key, "unknown variable; did you mean %s?" % close[0])

    # -- derived
    @property
    def service_type(self):
        return SERVICE_TYPES[self.access_type]

    @property
    def uses_node_ports(self):
        return self.access_type in ("NodePort", "LoadBalancer")

    def endpoint_offsets(self, engine=None):
        """(endpoint, offset in the owner's block) of every endpoint this deployment publishes."""
        if self.kind == "fate":
            names = {
                "eggroll": (self.gateway, "fateflow_grpc", "fateflow_http"),
                "pulsar": ("fateflow_grpc", "nginx_http", "pulsar", "fateflow_http", "nginx_grpc", "pulsar_tls"),
                "rabbitmq": ("fateflow_grpc", "nginx_http", "rabbitmq", "fateflow_http", "nginx_grpc"),
            }[self.engine]
            return [(n, PARTY_OFFSETS[n]) for n in names]
        if self.kind == "serving":
            return [("serving_server", 5), ("serving_proxy", 6)]
        if self.kind == "serving_exchange":
            return [("serving_proxy", EXCHANGE_OFFSETS["serving_proxy"])]
        if engine == "pulsar":
            return [("traffic_server", 0), ("nginx_http", 3), ("nginx_grpc", 8)]
        return [("rollsite", 0)]


def _as_int(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.match(r"^\s*-?\d+\s*$", value):
        return int(value)
    return None


# --------------------------------------------------------------------------------------------- federation


class _Federation:
    def __init__(self, name):
        self.name = name
        self.where = "federation '%s'" % name
        self.hosts = []
        self.topology = "mesh"
        self.parties = {}  # party id -> fate host
        self.serving = {}  # party id -> serving host
        self.exchanges = []
        self.serving_exchanges = []
        self.engine = "eggroll"

    @property
    def exchange(self):
        return self.exchanges[0] if len(self.exchanges) == 1 else None

    @property
    def serving_exchange(self):
        return self.serving_exchanges[0] if len(self.serving_exchanges) == 1 else None

    @property
    def serving_via_exchange(self):
        return self.topology == "star" and self.serving_exchange is not None


def _check_federation(fed, report):
    hosts = sorted(fed.hosts, key=lambda h: h.host)
    topologies = {}
    for h in hosts:
        topologies.setdefault(h.topology, []).append(h.host)
    if len(topologies) > 1:
        detail = "; ".join("%s: %s" % (t, ", ".join(names)) for t, names in sorted(topologies.items()))
        report.error(fed.where, "fate_topology", "hosts disagree (%s); set it once on the federation group" % detail)
    fed.topology = hosts[0].topology if hosts else "mesh"
    for h in hosts:
        if h.kind == "fate":
            if h.party_id in fed.parties:
                other = fed.parties[h.party_id]
                report.error(
                    h.where,
                    "fate_party_id",
                    "party %s is already used by %s in %s (duplicate party id)" % (h.party_id, other.where, fed.where),
                )
            elif h.party_id is not None:
                fed.parties[h.party_id] = h
        elif h.kind == "serving":
            if h.party_id in fed.serving:
                report.error(
                    h.where,
                    "fate_party_id",
                    "party %s already has a serving cluster: %s" % (h.party_id, fed.serving[h.party_id].where),
                )
            elif h.party_id is not None:
                fed.serving[h.party_id] = h
        elif h.kind == "exchange":
            fed.exchanges.append(h)
        elif h.kind == "serving_exchange":
            fed.serving_exchanges.append(h)
    parties = [fed.parties[p] for p in sorted(fed.parties)]
    for pid in sorted(fed.serving):
        if pid not in fed.parties:
            report.error(
                fed.serving[pid].where,
                "fate_party_id",
                "serving cluster of party %s has no training cluster (fate_deployment: fate) in %s" % (pid, fed.where),
            )
    # engines and versions
    engines = {}
    for h in parties:
        engines.setdefault(h.engine, []).append(h)
    if len(engines) > 1:
        detail = "; ".join(
            "%s: %s" % (e, ", ".join("%s (party %s)" % (h.host, h.party_id) for h in hs))
            for e, hs in sorted(engines.items())
        )
        report.error(
            fed.where,
            "fate_backend",
            "parties use incompatible federation engines (%s); eggroll, pulsar and rabbitmq parties cannot talk"
            % detail,
        )
    fed.engine = max(engines, key=lambda e: len(engines[e])) if engines else "eggroll"
    majors = {}
    minors = {}
    for h in parties:
        if h.version:
            majors.setdefault(h.version.split(".", maxsplit=1)[0], []).append(h.host)
            minors.setdefault(h.version, []).append(h.host)
    if len(majors) > 1:
        detail = "; ".join("FATE %s.x: %s" % (m, ", ".join(n)) for m, n in sorted(majors.items()))
        report.error(fed.where, "fate_version", "FATE 1.x and 2.x parties cannot federate (%s)" % detail)
    elif len(minors) > 1:
        detail = "; ".join("%s: %s" % (v, ", ".join(n)) for v, n in sorted(minors.items()))
        report.warn(fed.where, "fate_version", "parties run different FATE versions (%s)" % detail)
    gateways = {h.gateway for h in parties if h.engine == "eggroll"}
    if len(gateways) > 1:
        report.error(
            fed.where, "fate_chart_version", "rollsite (chart < v2.0.0) and osx (v2.0.0) parties cannot federate"
        )
    # topology rules
    if fed.topology == "star":
        if len(fed.exchanges) != 1:
            found = ", ".join(h.host for h in fed.exchanges) or "none"
            report.error(
                fed.where,
                "fate_deployment",
                "a star federation needs exactly one host with fate_deployment: exchange (found: %s)" % found,
            )
        rabbit = [h for h in parties if h.engine == "rabbitmq"]
        if rabbit:
            report.error(
                fed.where,
                "fate_topology",
                "RabbitMQ has no exchange mode; star is not possible for %s (use mesh or a Pulsar backend)"
                % ", ".join("%s (%s)" % (h.host, h.backend) for h in rabbit),
            )
        if fed.exchange is not None and len(engines) > 1 and {"eggroll", "pulsar"} <= set(engines):
            report.error(
                fed.exchange.where,
                "fate_backend",
                "rollsite (eggroll) and pulsar parties cannot share one exchange (%s)"
                % ", ".join("%s: %s" % (h.host, h.backend) for h in parties),
            )
        eggroll_v2 = [h for h in parties if h.engine == "eggroll" and h.gateway == "osx"]
        if eggroll_v2 and fed.exchange is not None:
            report.warn(
                fed.where,
                "fate_topology",
                "FATE 2.0.0 osx ignores osx.exchange, so every peer is listed in osx.partyList with the exchange "
                "rollsite address; osx <-> fate-exchange rollsite interoperability is not verified upstream",
            )
    else:
        for h in fed.exchanges + fed.serving_exchanges:
            report.warn(
                h.where,
                "fate_deployment",
                "%s is not used by a mesh federation (parties route directly)" % h.kind,
                host=h.host,
            )
    if len(fed.serving_exchanges) > 1:
        report.error(
            fed.where,
            "fate_deployment",
            "at most one serving_exchange per federation (found: %s)"
            % ", ".join(h.host for h in fed.serving_exchanges),
        )
    if fed.exchanges and not parties:
        report.error(fed.where, "fate_deployment", "the exchange has no parties (no host with fate_deployment: fate)")
    for h in parties:
        if h.gpu_enabled or h.device == "GPU":
            if chart_version_tuple(h.chart_version) < (1, 11, 1):
                report.error(h.where, "fate_gpu", "GPU needs chart fate v1.11.1 or later (has %s)" % h.chart_version)
            if h.device == "GPU" and not h.gpu_enabled:
                h.warn("fate_device", "GPU device without fate_gpu: no nvidia.com/gpu resources are requested")


# --------------------------------------------------------------------------------------------- NodePorts


class _Owner:
    def __init__(self, key, label, preferred, order):
        self.key = key
        self.label = label
        self.preferred = preferred
        self.order = order
        self.deps = []
        self.base = None
        self.base_host = None


def _allocate_node_ports(hosts, feds, report):
    by_kube = {}
    for h in hosts:
        if h.federation and h.party_id is not None and h.kube_cluster:
            by_kube.setdefault(h.kube_cluster, []).append(h)
    for kube, members in sorted(by_kube.items()):
        _allocate_kube(kube, sorted(members, key=lambda h: h.host), feds, report)


def _block_free(block, need, claimed, used):
    if block in claimed:
        return False
    start = NODE_PORT_MIN + block * BLOCK_SIZE
    return all(start + offset not in used for _h, _n, offset in need)


def _allocate_kube(kube, members, feds, report):
    used = {}  # port -> (host, endpoint)
    owners = {}
    for h in members:
        fed = feds[h.federation]
        wanted = dict(h.endpoint_offsets(fed.engine))
        if not h.uses_node_ports:
            ignored = sorted(set(h.pins) & set(wanted))
            if ignored:
                h.warn("fate_node_ports", "ignored with fate_access.type %s (%s)" % (h.access_type, ", ".join(ignored)))
            continue
        for name in sorted(wanted):
            port = h.pins.get(name)
            if port is None:
                continue
            if port in used:
                other_host, other_name = used[port]
                report.error(
                    h.where,
                    "fate_node_ports.%s" % name,
                    "NodePort %d collides with %s of host '%s' on kube cluster '%s'"
                    % (port, other_name, other_host.host, kube),
                )
                continue
            used[port] = (h, name)
            h.node_ports[name] = port
        if h.kind in ("exchange", "serving_exchange"):
            key = (fed.name, "exchange")
            label = "exchange of federation '%s'" % fed.name
            preferred, order = 0, (1, fed.name, 0)
        else:
            key = (fed.name, "party", h.party_id)
            label = "party %s of federation '%s'" % (h.party_id, fed.name)
            preferred, order = 1 + (h.party_id - 1) % (BLOCK_COUNT - 1), (2, h.party_id, fed.name)
        owner = owners.get(key)
        if owner is not None and set(wanted) & {n for d in owner.deps for n, _o in d.endpoint_offsets(fed.engine)}:
            key = (*key, h.host)  # duplicate deployment (already an error): keep it out of the other's block
            owner = None
        if owner is None:
            owner = owners[key] = _Owner(key, label, preferred, order)
        owner.deps.append(h)
        h.owner = owner
        if h.node_port_base is not None:
            if owner.base is not None and owner.base != h.node_port_base:
                report.error(
                    h.where,
                    "fate_node_port_base",
                    "%d differs from %d set by host '%s' for the same %s"
                    % (h.node_port_base, owner.base, owner.base_host, label),
                )
            else:
                owner.base, owner.base_host = h.node_port_base, h.host
    claimed = {}
    ordered = sorted(owners.values(), key=lambda o: (0, o.base) if o.base is not None else o.order)
    needs = {}
    for owner in ordered:
        need = []
        for h in owner.deps:
            for name, offset in h.endpoint_offsets(feds[h.federation].engine):
                if name not in h.pins:
                    need.append((h, name, offset))
        if need:
            needs[owner.key] = need
    # 1. pinned blocks; 2. every owner whose preferred block is free takes it (so that owners probing in
    # step 3 never take another owner's preferred block); 3. the others probe for the next free block.
    waiting = []
    for owner in ordered:
        need = needs.get(owner.key)
        if need is None:
            continue
        if owner.base is not None:
            block = (owner.base - NODE_PORT_MIN) // BLOCK_SIZE
            if _block_free(block, need, claimed, used):
                _claim(owner, block, need, claimed, used)
            else:
                holder = claimed.get(block)
                if holder is not None:
                    clash = holder.label
                else:
                    taken = [owner.base + o for _h, _n, o in need if owner.base + o in used]
                    clash = ", ".join("%d (%s of host '%s')" % (p, used[p][1], used[p][0].host) for p in taken)
                report.error(
                    next(h for h in owner.deps if h.host == owner.base_host).where,
                    "fate_node_port_base",
                    "block %d-%d on kube cluster '%s' is taken by %s"
                    % (owner.base, owner.base + BLOCK_SIZE - 1, kube, clash),
                )
        elif _block_free(owner.preferred, need, claimed, used):
            _claim(owner, owner.preferred, need, claimed, used)
        else:
            waiting.append(owner)
    for owner in waiting:
        need = needs[owner.key]
        block = None
        for step in range(1, BLOCK_COUNT):
            candidate = (owner.preferred + step) % BLOCK_COUNT
            if _block_free(candidate, need, claimed, used):
                block = candidate
                break
        if block is None:
            for h in owner.deps:
                report.error(
                    h.where,
                    "fate_node_ports",
                    "no free NodePort block left on kube cluster '%s' for %s; pin ports, spread parties over "
                    "kube clusters or use fate_access.type LoadBalancer/Ingress" % (kube, owner.label),
                )
            continue
        _claim(owner, block, need, claimed, used)
        start = NODE_PORT_MIN + block * BLOCK_SIZE
        for h in owner.deps:
            h.warn(
                "fate_node_port_base",
                "preferred NodePort block %d is taken on kube cluster '%s'; %s uses %d-%d (pin "
                "fate_node_port_base: %d to keep it when parties are added)"
                % (
                    NODE_PORT_MIN + owner.preferred * BLOCK_SIZE,
                    kube,
                    owner.label,
                    start,
                    start + BLOCK_SIZE - 1,
                    start,
                ),
            )


def _claim(owner, block, need, claimed, used):
    claimed[block] = owner
    start = NODE_PORT_MIN + block * BLOCK_SIZE
    for h, name, offset in need:
        used[start + offset] = (h, name)
        h.node_ports[name] = start + offset


# --------------------------------------------------------------------------------------------- endpoints


class _Links:
    """Resolves the address other deployments use for an endpoint and records who needs it.

    Route entries towards a party are the same for every peer: :meth:`entry` builds each one once and shares
    it between the peers' route tables (``deep_merge`` copies before it writes, so sharing is safe).
    """

    def __init__(self, report):
        self.report = report
        self._entries = {}

    @staticmethod
    def _note(target, user):
        if len(target.needs_address_by) < 6 and user.host not in target.needs_address_by:
            target.needs_address_by.append(user.host)

    def endpoint(self, target, name, user):
        host = target.addresses.get(name) or target.address
        port = target.node_ports.get(name) if target.access_type == "NodePort" else SERVICE_PORTS[name]
        if host is None:
            self._note(target, user)
        return host, port

    def via(self, exchange, peer, user):
        """osx partyList entry that sends ``peer``'s traffic to the exchange rollsite (built once per peer)."""
        key = (exchange.host, "via", peer.party_id)
        cached = self._entries.get(key)
        if cached is None:
            ip, port = self.endpoint(exchange, "rollsite", user)
            cached = self._entries[key] = {"partyId": peer.party_id, "partyIp": ip, "partyPort": port}
        elif exchange.address is None:
            self._note(exchange, user)
        return cached

    def entry(self, target, kind, user):
        """A peer's route entry of one kind (gateway, nginx, pulsar, rabbitmq, serving), built once."""
        key = (target.host, kind)
        cached = self._entries.get(key)
        if cached is not None:
            if target.address is None:
                self._note(target, user)
            return cached
        if kind == "gateway":
            ip, port = self.endpoint(target, target.gateway, user)
            value = {"partyId": target.party_id, "partyIp": ip, "partyPort": port}
        elif kind == "nginx":
            ip, http_port = self.endpoint(target, "nginx_http", user)
            _ip, grpc_port = self.endpoint(target, "nginx_grpc", user)
            value = {"fateflow": [{"host": ip, "http_port": http_port, "grpc_port": grpc_port}]}
        elif kind == "pulsar":
            ip, port = self.endpoint(target, "pulsar", user)
            _ip, ssl_port = self.endpoint(target, "pulsar_tls", user)
            value = {"host": ip, "port": port, "sslPort": ssl_port, "proxy": ""}
        elif kind == "rabbitmq":
            ip, port = self.endpoint(target, "rabbitmq", user)
            value = {"host": ip, "port": port}
        else:  # serving proxy
            ip, port = self.endpoint(target, "serving_proxy", user)
            value = {"partyId": target.party_id, "partyIp": ip, "partyPort": port}
        self._entries[key] = value
        return value


def _publish_endpoints(h, engine):
    for name, _offset in h.endpoint_offsets(engine):
        host = h.addresses.get(name) or h.address
        port = h.node_ports.get(name) if h.access_type == "NodePort" else SERVICE_PORTS[name]
        h.endpoints[name] = {"host": host, "port": port, "node_port": h.node_ports.get(name)}


# --------------------------------------------------------------------------------------------- cluster.yaml


def _head(h):
    spec = {
        "name": h.name,
        "namespace": h.namespace,
        "chartName": h.chart_name,
        "chartVersion": h.chart_version,
        "partyId": h.party_id,
        "registry": normalise_registry(h.registry, h.chart_name, h.chart_version),
    }
    if h.pull_policy:
        spec["pullPolicy"] = h.pull_policy
    if h.pull_secrets:
        spec["imagePullSecrets"] = [{"name": s} for s in h.pull_secrets]
    spec["persistence"] = h.persistence
    spec["istio"] = {"enabled": h.istio}
    spec["podSecurityPolicy"] = {"enabled": False}
    if h.chart_name != "fate-exchange":
        spec["ingressClassName"] = h.ingress_class
    return spec


def _ingress(h, modules):
    out = {}
    for module, prefix in modules:
        custom = h.ingress_hosts.get(module)
        if custom is not None:
            if not isinstance(custom, (list, tuple)):
                h.err("fate_ingress_hosts.%s" % module, "expected a list of host names")
                continue
            hosts = [dict(item) if isinstance(item, dict) else {"name": str(item), "path": "/"} for item in custom]
        else:
            hosts = [{"name": "%s.%s.%s" % (h.party_id, prefix, h.ingress_domain), "path": "/"}]
        out[module] = {"hosts": hosts}
    for module in h.ingress_hosts:
        if module not in dict(modules):
            h.warn(
                "fate_ingress_hosts.%s" % module,
                "not an ingress of this deployment (%s)" % ", ".join(m for m, _p in modules),
            )
    return out


def _placement(h, spec, sections):
    for dotted in sections:
        if not (h.node_selector or h.tolerations or h.affinity):
            return
        node = spec
        for part in dotted.split("."):
            node = node.setdefault(part, {})
        if h.node_selector:
            node["nodeSelector"] = copy.deepcopy(h.node_selector)
        if h.tolerations:
            node["tolerations"] = copy.deepcopy(h.tolerations)
        if h.affinity:
            node["affinity"] = copy.deepcopy(h.affinity)


def _storage(h, spec, modules):
    if not h.persistence:
        if h.storage_class:
            h.warn("fate_storage_class", "ignored because fate_persistence is false")
        return
    if not h.storage_class:
        h.warn(
            "fate_storage_class",
            "persistence without a storage class: PVCs use the chart's class names (e.g. 'python', "
            "'nodemanager') or the cluster default; set fate_storage_class",
        )
        return
    for dotted in PVC_MODULES[h.chart_name]:
        if dotted.split(".", maxsplit=1)[0] in modules:
            node = spec
            for part in dotted.split("."):
                node = node.setdefault(part, {})
            node["storageClass"] = h.storage_class


def _with_own(own_id, own, peers, links, kind, user):
    """A route table keyed by party id in id order: the own party's local entry among its peers' entries."""
    table = {}
    placed = False
    for p in peers:  # peers are sorted by party id
        if not placed and p.party_id > own_id:
            table[own_id] = own
            placed = True
        table[p.party_id] = links.entry(p, kind, user)
    if not placed:
        table[own_id] = own
    return table


def _expose(h, section, **node_ports):
    """Add one Service's NodePorts (chart key -> endpoint) and, when asked for, its LoadBalancer IP (the address
    of the first endpoint) to a module section of the cluster.yaml."""
    if h.uses_node_ports:
        for key, endpoint in node_ports.items():
            section[key] = h.node_ports.get(endpoint)
    if h.access_type == "LoadBalancer" and h.request_ip:
        section["loadBalancerIP"] = h.addresses.get(next(iter(node_ports.values()))) or h.address
    return section


def _fate_yaml(h, fed, links, serving_of):
    backend = BACKENDS[h.backend]
    spark_local = backend["computing"] == "Spark_local"
    template = FATE_MODULE_ORDER["eggroll" if h.engine == "eggroll" else ("spark_local" if spark_local else "spark")]
    modules = [m.format(gateway=h.gateway, engine=h.engine) for m in template]
    if h.external_mysql:
        modules.remove("mysql")
    spec = _head(h)
    spec["modules"] = modules
    federation = backend["federation"]
    if h.engine == "eggroll" and h.gateway == "osx":
        federation = "OSX"
    algorithm, device = h.algorithm or "Basic", h.device or "CPU"
    if h.gpu_enabled:
        device = "GPU"
        if algorithm == "Basic":
            algorithm = "NN"
            if h.algorithm:
                h.warn("fate_algorithm", "Basic has no GPU image; using NN because fate_gpu is enabled")
    spec.update(
        computing=backend["computing"],
        federation=federation,
        storage=backend["storage"],
        algorithm=algorithm,
        device=device,
    )
    ingress = [("fateboard", "fateboard"), ("client", "notebook")]
    if "spark" in modules:
        ingress.append(("spark", "spark"))
    if h.engine in ("rabbitmq", "pulsar"):
        ingress.append((h.engine, h.engine))
    spec["ingress"] = _ingress(h, ingress)
    stype = h.service_type
    peers = [p for pid, p in sorted(fed.parties.items()) if pid != h.party_id]
    star = fed.topology == "star"
    exchange = fed.exchange if star else None

    if h.engine == "eggroll":
        gw = {"type": stype}
        _expose(h, gw, nodePort=h.gateway)
        if exchange is not None:
            ip, port = links.endpoint(exchange, "rollsite", h)
            gw["exchange"] = {"ip": ip, "port": port}
            if h.gateway == "osx":  # osx ignores .exchange: route every peer through the exchange explicitly
                gw["partyList"] = [links.via(exchange, p, h) for p in peers]
        elif peers:
            gw["partyList"] = [links.entry(p, "gateway", h) for p in peers]
        spec[h.gateway] = gw

    python = {"type": stype}
    _expose(h, python, httpNodePort="fateflow_http", grpcNodePort="fateflow_grpc")
    spec["python"] = python

    serving = serving_of.get(h.party_id)
    if serving is not None:
        ip, port = links.endpoint(serving, "serving_server", h)
        spec["servingIp"] = ip
        spec["servingPort"] = port

    if h.engine in ("pulsar", "rabbitmq"):
        nginx = {"type": stype}
        _expose(h, nginx, httpNodePort="nginx_http", grpcNodePort="nginx_grpc")
        if exchange is not None and h.engine == "pulsar":
            ip, http_port = links.endpoint(exchange, "nginx_http", h)
            _ip, grpc_port = links.endpoint(exchange, "nginx_grpc", h)
            nginx["exchange"] = {"ip": ip, "httpPort": http_port, "grpcPort": grpc_port}
        else:
            # Without nginx.exchange the charts v1.9 - v1.11 keep a placeholder default proxy from values.yaml
            # (192.168.10.1:30003): point the default route at the local nginx, as chart v2.0.0 does.
            nginx["exchange"] = {"ip": "nginx", "httpPort": 9300, "grpcPort": 9310}
            if peers:
                nginx["route_table"] = {p.party_id: links.entry(p, "nginx", h) for p in peers}
        spec["nginx"] = nginx

    if h.engine == "pulsar":
        pulsar = {"type": stype}
        _expose(h, pulsar, httpNodePort="pulsar", httpsNodePort="pulsar_tls")
        pulsar["publicLB"] = {"enabled": False}
        own = {"host": "pulsar", "port": 6650, "sslPort": 6651}
        if exchange is not None:
            ip, port = links.endpoint(exchange, "traffic_server", h)
            pulsar["exchange"] = {"ip": ip, "port": port, "domain": h.pulsar_domain}
            pulsar["route_table"] = {h.party_id: own}
        else:
            pulsar["route_table"] = _with_own(h.party_id, own, peers, links, "pulsar", h)
        spec["pulsar"] = pulsar

    if h.engine == "rabbitmq":
        rabbit = {"type": stype}
        _expose(h, rabbit, nodePort="rabbitmq")
        rabbit["route_table"] = _with_own(h.party_id, {"host": "rabbitmq", "port": 5672}, peers, links, "rabbitmq", h)
        user, password = h.secrets.get("fate_rabbitmq_user"), h.secrets.get("fate_rabbitmq_password")
        if user or password:
            user = user or "fate"
            password = password or "fate"
            rabbit.update(default_user=user, default_pass=password, user=user, password=password)
            python["rabbitmq"] = {
                "host": "rabbitmq",
                "mng_port": 15672,
                "port": 5672,
                "user": user,
                "password": password,
            }
        spec["rabbitmq"] = rabbit

    # secrets and per-module settings
    if h.external_mysql:
        em = h.external_mysql
        spec["externalMysqlIp"] = em.get("ip")
        spec["externalMysqlPort"] = _as_int(em.get("port", 3306)) or em.get("port")
        spec["externalMysqlDatabase"] = em.get("database", "eggroll_meta")
        spec["externalMysqlUser"] = em.get("user", "fate")
        if em.get("password") is None:
            h.warn("fate_external_mysql.password", "not set: fateflow uses the chart default 'fate_dev'")
        else:
            spec["externalMysqlPassword"] = str(em.get("password"))
        if "fate_mysql_password" in h.secrets:
            h.warn("fate_mysql_password", "ignored: fate_external_mysql.password is used with an external MySQL")
    elif "fate_mysql_password" in h.secrets:
        spec.setdefault("mysql", {})["password"] = h.secrets["fate_mysql_password"]
    else:
        h.warn("fate_mysql_password", "not set: MySQL uses the chart default password")
    user, password = h.secrets.get("fate_fateboard_username"), h.secrets.get("fate_fateboard_password")
    if user or password:
        spec.setdefault("fateboard", {}).update(
            type="ClusterIP", username=user or "admin", password=password or "admin"
        )
    if not password:
        h.warn("fate_fateboard_password", "not set: FATE-Board keeps the chart default login (admin/admin)")
    if "fate_notebook_hashed_password" in h.secrets:
        if chart_version_tuple(h.chart_version) < (1, 10, 0):
            h.warn("fate_notebook_hashed_password", "ignored by chart fate %s" % h.chart_version)
        spec.setdefault("client", {})["notebook_hashed_password"] = h.secrets["fate_notebook_hashed_password"]
    resources = {}
    for module, value in h.resources.items():
        if not isinstance(value, dict):
            continue
        if module not in RESOURCE_MODULES:
            h.warn(
                "fate_resources.%s" % module,
                "chart fate reads resources only for %s" % ", ".join(RESOURCE_MODULES),
            )
        elif module.split("_", maxsplit=1)[0] not in modules:
            h.warn("fate_resources.%s" % module, "ignored: module not deployed (%s)" % ", ".join(modules))
        else:
            resources[module] = copy.deepcopy(value)
    if h.gpu_enabled:
        gpu = resources.setdefault("python", {})
        for kind in ("requests", "limits"):
            gpu.setdefault(kind, {})["nvidia.com/gpu"] = h.gpu_count
    for module, value in resources.items():
        if module.startswith("spark_"):
            spec.setdefault("spark", {}).setdefault(module.split("_")[1], {})["resources"] = value
        else:
            spec.setdefault(module, {})["resources"] = value
    placement = []
    for m in modules:
        if m == "spark":
            placement += ["spark.master", "spark.worker"]
        elif m == "hdfs":
            placement += ["hdfs.namenode", "hdfs.datanode"]
        else:
            placement.append(m)
    _placement(h, spec, placement)
    _storage(h, spec, modules)
    if chart_version_tuple(h.chart_version) >= (2, 0, 0):
        v2_registry_images(spec, modules, h)
    return spec


def _exchange_yaml(h, fed, links):
    spec = _head(h)
    parties = [p for _pid, p in sorted(fed.parties.items())]
    stype = h.service_type
    if fed.engine == "pulsar":
        spec["modules"] = ["trafficServer", "nginx"]
        traffic = {"type": stype}
        if h.uses_node_ports:
            traffic["nodePort"] = h.node_ports.get("traffic_server")
        sni = []
        nginx_table = {}
        for p in parties:
            ip, ssl_port = links.endpoint(p, "pulsar_tls", h)
            domain = p.pulsar_domain
            sni.append({"fqdn": "%s.%s" % (p.party_id, domain), "tunnelRoute": "%s:%s" % (ip, ssl_port)})
            ip, http_port = links.endpoint(p, "nginx_http", h)
            _ip, grpc_port = links.endpoint(p, "nginx_grpc", h)
            fip, f_http = links.endpoint(p, "fateflow_http", h)
            _fip, f_grpc = links.endpoint(p, "fateflow_grpc", h)
            nginx_table[p.party_id] = {
                "proxy": [{"host": ip, "http_port": http_port, "grpc_port": grpc_port}],
                "fateflow": [{"host": fip, "http_port": f_http, "grpc_port": f_grpc}],
            }
        traffic["route_table"] = {"sni": sni}
        spec["trafficServer"] = traffic
        nginx = {"type": stype}
        if h.uses_node_ports:
            nginx["httpNodePort"] = h.node_ports.get("nginx_http")
            nginx["grpcNodePort"] = h.node_ports.get("nginx_grpc")
        nginx["route_table"] = nginx_table
        spec["nginx"] = nginx
        sections = ["trafficServer", "nginx"]
        domains = sorted({p.pulsar_domain for p in parties})
        if len(domains) > 1:
            h.warn("fate_pulsar_exchange_domain", "parties use different domains (%s)" % ", ".join(domains))
    else:
        spec["modules"] = ["rollsite"]
        rollsite = {"type": stype}
        if h.uses_node_ports:
            rollsite["nodePort"] = h.node_ports.get("rollsite")
        rollsite["enableTLS"] = False
        party_list = []
        for p in parties:
            if p.engine != "eggroll":
                continue
            ip, port = links.endpoint(p, p.gateway, h)
            party_list.append({"partyId": p.party_id, "partyIp": ip, "partyPort": port})
        rollsite["partyList"] = party_list
        spec["rollsite"] = rollsite
        sections = ["rollsite"]
    _placement(h, spec, sections)
    return spec


def _serving_yaml(h, fed, links):
    spec = _head(h)
    modules = ["servingProxy"] if h.kind == "serving_exchange" else list(SERVING_MODULES)
    spec["modules"] = modules
    if h.kind == "serving":
        spec["ingress"] = _ingress(h, [("servingProxy", "serving-proxy"), ("servingAdmin", "serving-admin")])
    stype = h.service_type
    proxy = {"type": stype}
    _expose(h, proxy, nodePort="serving_proxy")
    servings = [s for _pid, s in sorted(fed.serving.items())]
    if h.kind == "serving_exchange":
        party_list = []
        for s in servings:
            ip, port = links.endpoint(s, "serving_proxy", h)
            party_list.append({"partyId": s.party_id, "partyIp": ip, "partyPort": port})
        if party_list:
            proxy["partyList"] = party_list
        # the chart's values.yaml default route is a placeholder 192.168.0.1:30100: point it at the local proxy
        proxy["exchange"] = {"ip": "serving-proxy", "port": 8869}
    elif fed.serving_via_exchange:
        ip, port = links.endpoint(fed.serving_exchange, "serving_proxy", h)
        proxy["exchange"] = {"ip": ip, "port": port}
    else:
        party_list = [links.entry(s, "serving", h) for s in servings if s.party_id != h.party_id]
        if party_list:
            proxy["partyList"] = party_list
        proxy["exchange"] = {"ip": "serving-proxy", "port": 8869}
    spec["servingProxy"] = proxy
    if h.kind == "serving":
        server = {"type": stype}
        _expose(h, server, nodePort="serving_server")
        fate = fed.parties.get(h.party_id)
        if fate is not None:
            ip, port = links.endpoint(fate, "fateflow_http", h)
            server["fateflow"] = {"ip": ip, "port": port}
        spec["servingServer"] = server
        user, password = h.secrets.get("fate_serving_admin_username"), h.secrets.get("fate_serving_admin_password")
        spec["servingAdmin"] = {"username": user or "admin", "password": password or "admin"}
        if not password:
            h.warn("fate_serving_admin_password", "not set: serving-admin keeps the chart default login (admin/admin)")
        if "fate_serving_redis_password" in h.secrets:
            spec["servingRedis"] = {"password": h.secrets["fate_serving_redis_password"]}
    _placement(h, spec, modules)
    _storage(h, spec, modules)
    return spec


def _required_modules(h):
    if h.kind in ("exchange", "serving_exchange"):
        return []
    if h.kind == "serving":
        return ["servingProxy", "servingServer"]
    required = ["python"]
    if not h.external_mysql:
        required.append("mysql")
    if h.engine == "eggroll":
        required += [h.gateway, "clustermanager", "nodemanager"]
    else:
        required += ["nginx", h.engine]
        if BACKENDS[h.backend]["computing"] == "Spark":
            required += ["spark", "hdfs"]
    return required


def _finish(h, spec):
    """Overrides, identity checks and the module check; returns the final cluster.yaml."""
    if h.overrides:
        known = KNOWN_TOP_LEVEL_KEYS[h.chart_name]
        for key in h.overrides:
            if key in IDENTITY_KEYS:
                h.err(
                    "fate_overrides.%s" % key,
                    "must not be overridden (KubeFATE matches it against the API request); use "
                    "fate_cluster_name, fate_namespace, fate_chart_version or fate_party_id",
                )
            elif key not in known:
                h.warn(
                    "fate_overrides.%s" % key,
                    "not a top-level key of chart %s %s: KubeFATE will ignore it" % (h.chart_name, h.chart_version),
                )
        deep_merge(spec, {k: v for k, v in h.overrides.items() if k not in IDENTITY_KEYS})
    fill_sticky_defaults(spec, h.chart_name, h.chart_version)
    modules = spec.get("modules")
    if not isinstance(modules, list):
        h.err("fate_overrides.modules", "modules must stay a list")
        return spec
    missing = [m for m in _required_modules(h) if m not in modules]
    if missing:
        h.err(
            "modules",
            "backend %s needs module(s) %s, missing after fate_overrides"
            % (h.backend if h.kind == "fate" else h.kind, ", ".join(missing)),
        )
    if h.kind == "fate":
        optional = [m for m in ("fateboard", "client") if m not in modules]
        if optional:
            h.warn("modules", "without %s (KubeFATE's CLI warns about this too)" % ", ".join(optional))
        if "mysql" not in modules and not spec.get("externalMysqlIp"):
            h.err("modules", "neither the mysql module nor externalMysqlIp (fate_external_mysql) is set")
        if (spec.get("podSecurityPolicy") or {}).get("enabled"):
            h.warn("fate_overrides.podSecurityPolicy", "PodSecurityPolicy was removed in Kubernetes 1.25")
    return spec


def _prerequisites(h, fed):
    items = ["namespace %s on kube cluster %s" % (h.namespace, h.kube_cluster)]
    items += ["image pull secret %s in namespace %s" % (s, h.namespace) for s in h.pull_secrets]
    if h.kind == "fate" and h.engine == "pulsar" and fed.topology == "star":
        items.append(
            "secret pulsar-cert (broker.cert.pem, broker.key-pk8.pem, ca.cert.pem; CN %s.%s) in namespace %s"
            % (h.party_id, h.pulsar_domain, h.namespace)
        )
    if h.kind == "exchange" and fed.engine == "pulsar":
        items.append(
            "secret traffic-server-cert (proxy.cert.pem, proxy.key.pem, ca.cert.pem) in namespace %s" % h.namespace
        )
    if h.istio and h.kind == "fate":
        items.append("secret fateboard-credential in namespace %s (istio gateway)" % h.namespace)
    return items


# --------------------------------------------------------------------------------------------- entry points


def _is_fate_host(hv):
    return any(key in hv for key in ("fate_federation", "fate_deployment", "fate_party_id"))


def build_plan(hostvars, hosts=None):
    """Compute every host's cluster.yaml from inventory variables.

    ``hostvars`` maps host name to its variables (plain dicts/lists/scalars). ``hosts`` restricts and orders
    the hosts considered (default: all of ``hostvars``); hosts without any of ``fate_federation``,
    ``fate_deployment`` or ``fate_party_id`` are not FATE deployments and are listed under ``ignored_hosts``.
    """
    report = _Report()
    names = list(hostvars) if hosts is None else list(hosts)
    seen = set()
    ordered = []
    for name in names:
        if name not in seen:
            seen.add(name)
            ordered.append(name)
    records = []
    ignored = []
    for name in ordered:
        hv = hostvars.get(name) if hasattr(hostvars, "get") else hostvars[name]
        if hv is None:
            report.error("host '%s'" % name, None, "is not in hostvars")
            continue
        if not _is_fate_host(hv):
            ignored.append(name)
            continue
        records.append(_Host(name, hv, report))

    feds = {}
    for h in records:
        if h.federation:
            feds.setdefault(h.federation, _Federation(h.federation)).hosts.append(h)
    for name in sorted(feds):
        _check_federation(feds[name], report)

    namespaces = {}
    for h in records:
        derived_from_bad_id = h.party_id is None and "fate_namespace" not in h.vars
        if h.namespace and h.kube_cluster and not derived_from_bad_id:
            namespaces.setdefault((h.kube_cluster, h.namespace), []).append(h)
    for (kube, ns), hs in sorted(namespaces.items()):
        if len(hs) > 1:
            for h in hs:
                others = ", ".join("'%s'" % o.host for o in hs if o is not h)
                h.err(
                    "fate_namespace",
                    "namespace '%s' on kube cluster '%s' is also used by %s (one KubeFATE cluster per namespace)"
                    % (ns, kube, others),
                )

    _allocate_node_ports(records, feds, report)
    links = _Links(report)
    clusters = {}
    for h in records:
        if not h.federation or h.party_id is None:
            continue
        fed = feds[h.federation]
        _publish_endpoints(h, fed.engine)
        if h.access_type == "Ingress":
            published = ", ".join("%s %d" % (n, SERVICE_PORTS[n]) for n, _o in h.endpoint_offsets(fed.engine))
            h.warn(
                "fate_access.type",
                "Ingress: services stay ClusterIP and peers are given <address>:<service port> (%s); expose these "
                "TCP ports through the ingress controller (e.g. ingress-nginx tcp-services)" % published,
            )
        try:
            if h.kind == "fate":
                spec = _fate_yaml(h, fed, links, fed.serving)
            elif h.kind == "exchange":
                spec = _exchange_yaml(h, fed, links)
            else:
                spec = _serving_yaml(h, fed, links)
            spec = _finish(h, spec)
        except (KeyError, TypeError, ValueError) as exc:  # defensive: a bad value already reported elsewhere
            h.err("cluster.yaml", "cannot be computed (%s: %s)" % (type(exc).__name__, exc))
            continue
        clusters[h.host] = {
            "host": h.host,
            "federation": h.federation,
            "topology": fed.topology,
            "party_id": h.party_id,
            "deployment": h.kind,
            "backend": h.backend if h.kind == "fate" else None,
            "fate_version": h.version,
            "name": h.name,
            "namespace": h.namespace,
            "chart_name": h.chart_name,
            "chart_version": h.chart_version,
            "kube_cluster": h.kube_cluster,
            "access_type": h.access_type,
            "cluster_yaml": spec,
            "endpoints": h.endpoints,
            "node_ports": dict(sorted(h.node_ports.items())),
            "prerequisites": _prerequisites(h, fed),
            "warnings": [],
        }
    for h in records:
        if h.needs_address_by and h.address is None:
            users = sorted(set(h.needs_address_by))
            missing = (
                sorted({n for n, _o in h.endpoint_offsets(feds[h.federation].engine) if n not in h.addresses})
                if h.federation in feds
                else []
            )
            report.error(
                h.where,
                "fate_access.address",
                "is required: %s reach%s this %s deployment (%s)"
                % (
                    ", ".join("'%s'" % u for u in users[:5]) + (" and others" if len(users) > 5 else ""),
                    "es" if len(users) == 1 else "",
                    h.kind,
                    ", ".join(missing) or "its endpoints",
                ),
            )
    for host, warnings in report.host_warnings.items():
        if host in clusters:
            clusters[host]["warnings"] = list(warnings)

    federations = {}
    for name, fed in sorted(feds.items()):
        federations[name] = {
            "name": name,
            "topology": fed.topology,
            "engine": fed.engine,
            "fate_versions": sorted({h.version for h in fed.parties.values() if h.version}),
            "parties": sorted(fed.parties),
            "serving_parties": sorted(fed.serving),
            "exchange": fed.exchange.host if fed.exchange else None,
            "serving_exchange": fed.serving_exchange.host if fed.serving_exchange else None,
            "hosts": sorted(h.host for h in fed.hosts),
            "kube_clusters": sorted({h.kube_cluster for h in fed.hosts if h.kube_cluster}),
        }
    return {
        "federations": federations,
        "clusters": clusters,
        "errors": list(report.errors),
        "warnings": list(report.warnings),
        "ignored_hosts": ignored,
    }


def validate_federation(hostvars, hosts=None):
    """Preflight only: ``{"errors": [...], "warnings": [...]}`` for the given hosts."""
    plan = build_plan(hostvars, hosts)
    return {"errors": plan["errors"], "warnings": plan["warnings"]}


def cluster_yaml(plan, host):
    """The cluster.yaml of one host of a plan without errors."""
    if plan.get("errors"):
        raise FederationError("the federation plan has errors:\n" + "\n".join(plan["errors"]))
    try:
        return plan["clusters"][host]["cluster_yaml"]
    except KeyError:
        raise FederationError("host '%s' is not a FATE deployment of this plan" % host) from None
