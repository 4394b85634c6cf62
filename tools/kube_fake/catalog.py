"""The resource types the fake serves: built-in Kubernetes 1.28 APIs plus those of stored CustomResourceDefinitions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
NO_COLLECTION = ("create", "delete", "get", "list", "patch", "update", "watch")
READ_VERBS = ("get", "list")
CREATE_ONLY = ("create",)
STATUS = {"status": ("", ("get", "patch", "update"))}


@dataclass(frozen=True)
class ResourceType:
    """One resource of one group-version, as in an APIResourceList."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    categories: tuple[str, ...] = ()
    #: subresource name -> (kind, verbs); an empty kind means the resource's own kind
    subresources: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict, hash=False, compare=False)
    custom: bool = False

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """``deployments.apps`` / ``services``: how the real server names a resource in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        """``Deployment.apps`` / ``Service``: how 422 messages name a kind."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def discovery(self) -> list[dict[str, Any]]:
        entry: dict[str, Any] = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        out = [entry]
        for name, (kind, verbs) in sorted(self.subresources.items()):
            sub: dict[str, Any] = {
                "name": f"{self.plural}/{name}",
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": kind or self.kind,
                "verbs": list(verbs),
            }
            if name == "scale":
                sub.update(group="autoscaling", version="v1")
            elif name == "eviction":
                sub.update(group="policy", version="v1")
            elif name == "token":
                sub.update(group="authentication.k8s.io", version="v1")
            out.append(sub)
        return out


def _r(group, version, plural, kind, namespaced, short=(), verbs=ALL_VERBS, cats=(), subs=None, singular=None):
    return ResourceType(
        group=group,
        version=version,
        plural=plural,
        singular=singular or kind.lower(),
        kind=kind,
        namespaced=namespaced,
        short_names=tuple(short),
        verbs=tuple(verbs),
        categories=tuple(cats),
        subresources=dict(subs or {}),
    )


SCALE = {"scale": ("Scale", ("get", "patch", "update")), **STATUS}
POD_SUBS = {
    **STATUS,
    "attach": ("PodAttachOptions", ("create", "get")),
    "binding": ("Binding", ("create",)),
    "ephemeralcontainers": ("", ("get", "patch", "update")),
    "eviction": ("Eviction", ("create",)),
    "exec": ("PodExecOptions", ("create", "get")),
    "log": ("", ("get",)),
    "portforward": ("PodPortForwardOptions", ("create", "get")),
    "proxy": ("PodProxyOptions", ("create", "delete", "get", "head", "options", "patch", "update")),
}

BUILTIN: list[ResourceType] = [
    # core v1
    _r("", "v1", "bindings", "Binding", True, verbs=CREATE_ONLY),
    _r("", "v1", "componentstatuses", "ComponentStatus", False, ("cs",), READ_VERBS),
    _r("", "v1", "configmaps", "ConfigMap", True, ("cm",)),
    _r("", "v1", "endpoints", "Endpoints", True, ("ep",), singular="endpoints"),
    _r("", "v1", "events", "Event", True, ("ev",)),
    _r("", "v1", "limitranges", "LimitRange", True, ("limits",)),
    _r(
        "",
        "v1",
        "namespaces",
        "Namespace",
        False,
        ("ns",),
        NO_COLLECTION,
        subs={**STATUS, "finalize": ("", ("update",))},
    ),
    _r("", "v1", "nodes", "Node", False, ("no",), subs={**STATUS, "proxy": ("NodeProxyOptions", ("get",))}),
    _r("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ("pvc",), subs=STATUS),
    _r("", "v1", "persistentvolumes", "PersistentVolume", False, ("pv",), subs=STATUS),
    _r("", "v1", "pods", "Pod", True, ("po",), cats=("all",), subs=POD_SUBS),
    _r("", "v1", "podtemplates", "PodTemplate", True),
    _r("", "v1", "replicationcontrollers", "ReplicationController", True, ("rc",), cats=("all",), subs=SCALE),
    _r("", "v1", "resourcequotas", "ResourceQuota", True, ("quota",), subs=STATUS),
    _r("", "v1", "secrets", "Secret", True),
    _r(
        "",
        "v1",
        "serviceaccounts",
        "ServiceAccount",
        True,
        ("sa",),
        subs={"token": ("TokenRequest", ("create",))},
    ),
    _r(
        "",
        "v1",
        "services",
        "Service",
        True,
        ("svc",),
        NO_COLLECTION,
        cats=("all",),
        subs={**STATUS, "proxy": ("ServiceProxyOptions", ("create", "delete", "get", "patch", "update"))},
    ),
    # apiregistration.k8s.io
    _r("apiregistration.k8s.io", "v1", "apiservices", "APIService", False, cats=("api-extensions",), subs=STATUS),
    # apps
    _r("apps", "v1", "controllerrevisions", "ControllerRevision", True),
    _r("apps", "v1", "daemonsets", "DaemonSet", True, ("ds",), cats=("all",), subs=STATUS),
    _r("apps", "v1", "deployments", "Deployment", True, ("deploy",), cats=("all",), subs=SCALE),
    _r("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",), cats=("all",), subs=SCALE),
    _r("apps", "v1", "statefulsets", "StatefulSet", True, ("sts",), cats=("all",), subs=SCALE),
    # events.k8s.io
    _r("events.k8s.io", "v1", "events", "Event", True, ("ev",)),
    # authentication / authorization (virtual, create-only)
    _r("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", False, verbs=CREATE_ONLY),
    _r("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", False, verbs=CREATE_ONLY),
    _r(
        "authorization.k8s.io",
        "v1",
        "localsubjectaccessreviews",
        "LocalSubjectAccessReview",
        True,
        verbs=CREATE_ONLY,
    ),
    _r(
        "authorization.k8s.io",
        "v1",
        "selfsubjectaccessreviews",
        "SelfSubjectAccessReview",
        False,
        verbs=CREATE_ONLY,
    ),
    _r(
        "authorization.k8s.io",
        "v1",
        "selfsubjectrulesreviews",
        "SelfSubjectRulesReview",
        False,
        verbs=CREATE_ONLY,
    ),
    _r("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", False, verbs=CREATE_ONLY),
    # autoscaling
    _r(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        True,
        ("hpa",),
        cats=("all",),
        subs=STATUS,
    ),
    _r(
        "autoscaling",
        "v1",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        True,
        ("hpa",),
        cats=("all",),
        subs=STATUS,
    ),
    # batch
    _r("batch", "v1", "cronjobs", "CronJob", True, ("cj",), cats=("all",), subs=STATUS),
    _r("batch", "v1", "jobs", "Job", True, cats=("all",), subs=STATUS),
    # certificates.k8s.io
    _r(
        "certificates.k8s.io",
        "v1",
        "certificatesigningrequests",
        "CertificateSigningRequest",
        False,
        ("csr",),
        subs={**STATUS, "approval": ("", ("get", "patch", "update"))},
    ),
    # networking.k8s.io
    _r("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False),
    _r("networking.k8s.io", "v1", "ingresses", "Ingress", True, ("ing",), subs=STATUS),
    _r("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, ("netpol",)),
    # policy
    _r("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ("pdb",), subs=STATUS),
    # rbac.authorization.k8s.io
    _r("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _r("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _r("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    _r("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    # storage.k8s.io
    _r("storage.k8s.io", "v1", "csidrivers", "CSIDriver", False),
    _r("storage.k8s.io", "v1", "csinodes", "CSINode", False),
    _r("storage.k8s.io", "v1", "csistoragecapacities", "CSIStorageCapacity", True),
    _r("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, ("sc",)),
    _r("storage.k8s.io", "v1", "volumeattachments", "VolumeAttachment", False, subs=STATUS),
    # admissionregistration.k8s.io
    _r(
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        False,
        cats=("api-extensions",),
    ),
    _r(
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        False,
        cats=("api-extensions",),
    ),
    # apiextensions.k8s.io
    _r(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        ("crd", "crds"),
        cats=("api-extensions",),
        subs=STATUS,
    ),
    # scheduling.k8s.io
    _r("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False, ("pc",)),
    # coordination.k8s.io
    _r("coordination.k8s.io", "v1", "leases", "Lease", True),
    # node.k8s.io
    _r("node.k8s.io", "v1", "runtimeclasses", "RuntimeClass", False),
    # discovery.k8s.io
    _r("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
]

#: The order of /apis in a real 1.28 server (groups not listed come after, sorted).
GROUP_ORDER = [
    "apiregistration.k8s.io",
    "apps",
    "events.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "node.k8s.io",
    "discovery.k8s.io",
]

#: Kinds that are not stored: a POST answers with the request plus a computed status.
VIRTUAL_KINDS = {
    "Binding",
    "SelfSubjectReview",
    "TokenReview",
    "LocalSubjectAccessReview",
    "SelfSubjectAccessReview",
    "SelfSubjectRulesReview",
    "SubjectAccessReview",
}

#: Built-in kinds whose metadata.generation the real server maintains.
GENERATION_KINDS = {
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "Ingress",
    "IngressClass",
    "NetworkPolicy",
    "PodDisruptionBudget",
    "CustomResourceDefinition",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "APIService",
    "HorizontalPodAutoscaler",
}


def crd_resource_types(crd: dict[str, Any]) -> list[ResourceType]:
    """The resource types one stored CustomResourceDefinition serves (one per served version)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group")
    plural = names.get("plural")
    kind = names.get("kind")
    if not (group and plural and kind):
        return []
    out = []
    for version in spec.get("versions") or []:
        if not version.get("served", True) or not version.get("name"):
            continue
        subs: dict[str, tuple[str, tuple[str, ...]]] = {}
        crd_subs = version.get("subresources") or {}
        if "status" in crd_subs:
            subs["status"] = ("", ("get", "patch", "update"))
        if "scale" in crd_subs:
            subs["scale"] = ("Scale", ("get", "patch", "update"))
        out.append(
            ResourceType(
                group=group,
                version=version["name"],
                plural=plural,
                singular=names.get("singular") or kind.lower(),
                kind=kind,
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                subresources=subs,
                custom=True,
            )
        )
    return out


def version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes version ordering: GA > beta > alpha, then by number (v2 > v1, v1beta2 > v1beta1)."""
    import re  # noqa: PLC0415 - local helper

    match = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not match:
        return (-1, 0, 0)
    major = int(match.group(1))
    stage = {"alpha": 0, "beta": 1, None: 2}[match.group(2)]
    minor = int(match.group(3) or 0)
    return (stage, major, minor)
