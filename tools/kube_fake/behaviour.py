"""Kind-specific behaviour of the real server and its controllers: defaults, extra validation, immutable fields,
and the ``status`` the fake's "controllers" write so that objects look healthy."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from .selectors import parse_label_selector
from .validation import Cause

WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"}
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


@dataclass
class Env:
    """What the controllers may look at: cluster facts and the fake's options."""

    now: str
    unready: bool = False
    nodes: list[dict] = field(default_factory=list)
    lb_ip: str | None = None
    storage_classes: dict[str, dict] = field(default_factory=dict)
    node_ip: str = "127.0.0.1"
    pod_ip: str | None = None


def template_hash(template: Any, length: int = 10) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    number = int(digest[:16], 16)
    out = ""
    while len(out) < length:
        out += alphabet[number % len(alphabet)]
        number //= len(alphabet)
    return out


# ------------------------------------------------------------------ defaults


def _default_pod_spec(spec: dict) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            if not isinstance(container, dict):
                continue
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            image = str(container.get("image") or "")
            tag = image.rsplit("/", 1)[-1]
            latest = "@" not in image and (":" not in tag or tag.endswith(":latest"))
            container.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
            container.setdefault("resources", {})
            for port in container.get("ports") or []:
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")
            for probe_key in ("livenessProbe", "readinessProbe", "startupProbe"):
                probe = container.get(probe_key)
                if isinstance(probe, dict):
                    probe.setdefault("timeoutSeconds", 1)
                    probe.setdefault("periodSeconds", 10)
                    probe.setdefault("successThreshold", 1)
                    probe.setdefault("failureThreshold", 3)
                    if isinstance(probe.get("httpGet"), dict):
                        probe["httpGet"].setdefault("scheme", "HTTP")
            for env in container.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("fieldRef") if isinstance(env, dict) else None
                if isinstance(ref, dict):
                    ref.setdefault("apiVersion", "v1")
    for volume in spec.get("volumes") or []:
        if not isinstance(volume, dict):
            continue
        for source in ("configMap", "secret", "downwardAPI", "projected"):
            if isinstance(volume.get(source), dict):
                volume[source].setdefault("defaultMode", 420)
        if isinstance(volume.get("hostPath"), dict):
            volume["hostPath"].setdefault("type", "")


def _default_template(obj: dict) -> None:
    template = (obj.get("spec") or {}).get("template")
    if isinstance(template, dict):
        template.setdefault("metadata", {})
        if isinstance(template.get("spec"), dict):
            _default_pod_spec(template["spec"])


def apply_defaults(kind: str, obj: dict, env: Env) -> None:
    spec = obj.get("spec")
    if kind == "Deployment" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        strategy = spec.setdefault("strategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxUnavailable", "25%")
            rolling.setdefault("maxSurge", "25%")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        _default_template(obj)
    elif kind == "StatefulSet" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        strategy = spec.setdefault("updateStrategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
        for claim in spec.get("volumeClaimTemplates") or []:
            if isinstance(claim, dict):
                claim.setdefault("apiVersion", "v1")
                claim.setdefault("kind", "PersistentVolumeClaim")
                if isinstance(claim.get("spec"), dict):
                    claim["spec"].setdefault("volumeMode", "Filesystem")
                claim.setdefault("status", {"phase": "Pending"})
        _default_template(obj)
    elif kind == "DaemonSet" and isinstance(spec, dict):
        strategy = spec.setdefault("updateStrategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxUnavailable", 1)
            rolling.setdefault("maxSurge", 0)
        spec.setdefault("revisionHistoryLimit", 10)
        _default_template(obj)
    elif kind in ("ReplicaSet", "ReplicationController") and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        _default_template(obj)
    elif kind == "Job" and isinstance(spec, dict):
        _default_job_spec(obj, spec)
    elif kind == "CronJob" and isinstance(spec, dict):
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        job_spec = (spec.get("jobTemplate") or {}).get("spec")
        if isinstance(job_spec, dict):
            job_spec.setdefault("backoffLimit", 6)
            job_spec.setdefault("completionMode", "NonIndexed")
            job_spec.setdefault("suspend", False)
            template = job_spec.get("template")
            if isinstance(template, dict) and isinstance(template.get("spec"), dict):
                _default_pod_spec(template["spec"])
    elif kind == "Pod" and isinstance(spec, dict):
        _default_pod_spec(spec)
        spec.setdefault("nodeName", (env.nodes[0]["metadata"]["name"] if env.nodes else "node-1"))
        spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
        spec.setdefault("serviceAccount", spec["serviceAccountName"])
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        spec.setdefault("priority", 0)
    elif kind == "Service":
        _default_service(obj)
    elif kind == "PersistentVolumeClaim" and isinstance(spec, dict):
        spec.setdefault("volumeMode", "Filesystem")
        if "storageClassName" not in spec:
            default = next(
                (
                    name
                    for name, sc in sorted(env.storage_classes.items())
                    if ((sc.get("metadata") or {}).get("annotations") or {}).get(
                        "storageclass.kubernetes.io/is-default-class"
                    )
                    == "true"
                ),
                None,
            )
            if default:
                spec["storageClassName"] = default
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
    elif kind == "Namespace":
        name = (obj.get("metadata") or {}).get("name")
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        if name:
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
    elif kind == "StorageClass":
        obj.setdefault("reclaimPolicy", "Delete")
        obj.setdefault("volumeBindingMode", "Immediate")
    elif kind == "PersistentVolume" and isinstance(spec, dict):
        spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
        spec.setdefault("volumeMode", "Filesystem")
    elif kind == "CustomResourceDefinition" and isinstance(spec, dict):
        spec.setdefault("conversion", {"strategy": "None"})
        names = spec.get("names")
        if isinstance(names, dict) and names.get("kind"):
            names.setdefault("singular", str(names["kind"]).lower())
            names.setdefault("listKind", f"{names['kind']}List")


def _default_job_spec(obj: dict, spec: dict) -> None:
    spec.setdefault("parallelism", 1)
    spec.setdefault("completions", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    uid = (obj.get("metadata") or {}).get("uid")
    name = (obj.get("metadata") or {}).get("name")
    template = spec.get("template")
    if not spec.get("manualSelector") and uid and isinstance(template, dict):
        labels = {
            "batch.kubernetes.io/controller-uid": uid,
            "batch.kubernetes.io/job-name": name,
            "controller-uid": uid,
            "job-name": name,
        }
        spec.setdefault("selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
        template.setdefault("metadata", {}).setdefault("labels", {}).update(labels)
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        _default_pod_spec(template["spec"])


def _default_service(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    kind = spec.setdefault("type", "ClusterIP")
    if kind != "ExternalName":
        spec.setdefault("sessionAffinity", "None")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if kind in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if kind == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if kind != "ExternalName" and "port" in port:
                port.setdefault("targetPort", port["port"])


# ------------------------------------------------------------------ extra validation


def _labels_causes(labels: Any, where: str) -> list[Cause]:
    causes = []
    if not isinstance(labels, dict):
        return causes
    for key, value in labels.items():
        name = str(key).rsplit("/", 1)[-1]
        if len(name) > 63 or not _LABEL_NAME.match(name):
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    where,
                    f'{where}: Invalid value: "{key}": name part must consist of alphanumeric characters, '
                    "'-', '_' or '.', and must start and end with an alphanumeric character",
                )
            )
        if not isinstance(value, str):
            continue
        if len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    where,
                    f'{where}: Invalid value: "{value}": a valid label must be an empty string or consist of '
                    "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
                    "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
                    + (" must be no more than 63 characters" if len(value) > 63 else ""),
                )
            )
    return causes


def selector_matches(selector: Any, labels: dict) -> bool:
    if not isinstance(selector, dict):
        return False
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        op = expr.get("operator")
        key = expr.get("key")
        values = ",".join(expr.get("values") or [])
        if op == "In":
            parts.append(f"{key} in ({values})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({values})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    if not parts:
        return False
    try:
        return parse_label_selector(",".join(parts))(labels or {})
    except ValueError:
        return False


def semantic_causes(kind: str, obj: dict) -> list[Cause]:
    """Checks of the real server's validation that JSON schemas cannot express (the common ones)."""
    causes = _labels_causes((obj.get("metadata") or {}).get("labels"), "metadata.labels")
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    template = spec.get("template") if isinstance(spec.get("template"), dict) else None
    if template is not None:
        causes += _labels_causes((template.get("metadata") or {}).get("labels"), "spec.template.metadata.labels")
    if kind in WORKLOADS and template is not None and isinstance(spec.get("selector"), dict):
        labels = (template.get("metadata") or {}).get("labels") or {}
        if not selector_matches(spec["selector"], labels):
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    "spec.template.metadata.labels",
                    f"spec.template.metadata.labels: Invalid value: {_go_map(labels)}: "
                    "`selector` does not match template `labels`",
                )
            )
        if kind == "Deployment" and spec["selector"] == {}:
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    "spec.selector",
                    "spec.selector: Invalid value: empty selector is invalid for deployment",
                )
            )
    if kind in WORKLOADS and template is not None:
        restart = (template.get("spec") or {}).get("restartPolicy", "Always")
        if restart != "Always":
            causes.append(
                Cause(
                    "FieldValueNotSupported",
                    "spec.template.spec.restartPolicy",
                    f'spec.template.spec.restartPolicy: Unsupported value: "{restart}": supported values: "Always"',
                )
            )
    if kind == "Job" and template is not None:
        restart = (template.get("spec") or {}).get("restartPolicy")
        if restart not in ("OnFailure", "Never"):
            causes.append(
                Cause(
                    "FieldValueRequired" if restart is None else "FieldValueNotSupported",
                    "spec.template.spec.restartPolicy",
                    'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"'
                    if restart is None
                    else f'spec.template.spec.restartPolicy: Unsupported value: "{restart}": supported values: '
                    '"OnFailure", "Never"',
                )
            )
    if template is not None:
        # a StatefulSet's containers may also mount its volumeClaimTemplates
        claims = [
            (c.get("metadata") or {}).get("name")
            for c in (spec.get("volumeClaimTemplates") or [])
            if kind == "StatefulSet" and isinstance(c, dict)
        ]
        causes += _containers_causes(template.get("spec") or {}, "spec.template.spec", claims)
    if kind == "Pod":
        causes += _containers_causes(spec, "spec")
    if kind == "Service":
        causes += _service_causes(spec)
    return causes


def _containers_causes(pod_spec: dict, where: str, extra_volumes: list | None = None) -> list[Cause]:
    causes = []
    if not isinstance(pod_spec, dict):
        return causes
    seen: set[str] = set()
    for key in ("initContainers", "containers"):
        for index, container in enumerate(pod_spec.get(key) or []):
            if not isinstance(container, dict):
                continue
            name = container.get("name")
            if name in seen:
                causes.append(
                    Cause(
                        "FieldValueDuplicate",
                        f"{where}.{key}[{index}].name",
                        f'{where}.{key}[{index}].name: Duplicate value: "{name}"',
                    )
                )
            seen.add(name)
            if not container.get("image"):
                causes.append(
                    Cause(
                        "FieldValueRequired",
                        f"{where}.{key}[{index}].image",
                        f"{where}.{key}[{index}].image: Required value",
                    )
                )
    volumes = [v.get("name") for v in pod_spec.get("volumes") or [] if isinstance(v, dict)] + (extra_volumes or [])
    for key in ("initContainers", "containers"):
        for index, container in enumerate(pod_spec.get(key) or []):
            for mindex, mount in enumerate((container or {}).get("volumeMounts") or []):
                if isinstance(mount, dict) and mount.get("name") not in volumes:
                    field_name = f"{where}.{key}[{index}].volumeMounts[{mindex}].name"
                    causes.append(
                        Cause("FieldValueNotFound", field_name, f'{field_name}: Not found: "{mount.get("name")}"')
                    )
    return causes


def _service_causes(spec: dict) -> list[Cause]:
    causes = []
    kind = spec.get("type", "ClusterIP")
    ports = spec.get("ports") or []
    if kind != "ExternalName" and not ports and spec.get("clusterIP") != "None":
        causes.append(Cause("FieldValueRequired", "spec.ports", "spec.ports: Required value"))
    seen = set()
    for index, port in enumerate(ports):
        if not isinstance(port, dict):
            continue
        if len(ports) > 1 and not port.get("name"):
            causes.append(
                Cause("FieldValueRequired", f"spec.ports[{index}].name", f"spec.ports[{index}].name: Required value")
            )
        ident = (port.get("port"), port.get("protocol", "TCP"))
        if ident in seen:
            causes.append(
                Cause(
                    "FieldValueDuplicate",
                    f"spec.ports[{index}]",
                    f"spec.ports[{index}]: Duplicate value: "
                    f'core.ServicePort{{Name:"", Protocol:"{ident[1]}", Port:{ident[0]}}}',
                )
            )
        seen.add(ident)
        if port.get("nodePort") and kind not in ("NodePort", "LoadBalancer"):
            causes.append(
                Cause(
                    "FieldValueForbidden",
                    f"spec.ports[{index}].nodePort",
                    f"spec.ports[{index}].nodePort: Forbidden: may not be used when `type` is '{kind}'",
                )
            )
    if kind == "ExternalName" and not spec.get("externalName"):
        causes.append(Cause("FieldValueRequired", "spec.externalName", "spec.externalName: Required value"))
    return causes


def _go_map(labels: dict) -> str:
    inner = ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items()))
    return f"map[string]string{{{inner}}}"


# ------------------------------------------------------------------ immutable fields

_STS_MUTABLE = {
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
}


def immutable_causes(kind: str, old: dict, new: dict) -> list[Cause]:
    causes: list[Cause] = []
    old_spec = old.get("spec") if isinstance(old.get("spec"), dict) else {}
    new_spec = new.get("spec") if isinstance(new.get("spec"), dict) else {}

    def immutable(path: str, old_value: Any, new_value: Any) -> None:
        if old_value != new_value:
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    path,
                    f"{path}: Invalid value: {_short(new_value)}: field is immutable",
                )
            )

    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
        immutable("spec.selector", old_spec.get("selector"), new_spec.get("selector"))
    if kind == "StatefulSet":
        changed = {k for k in set(old_spec) | set(new_spec) if old_spec.get(k) != new_spec.get(k)} - _STS_MUTABLE
        if changed - {"selector"}:
            causes.append(
                Cause(
                    "FieldValueForbidden",
                    "spec",
                    "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                    "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' "
                    "are forbidden",
                )
            )
    if kind == "Job":
        immutable("spec.selector", old_spec.get("selector"), new_spec.get("selector"))
        immutable("spec.completions", old_spec.get("completions"), new_spec.get("completions"))
        if old_spec.get("template") != new_spec.get("template") and not old_spec.get("suspend"):
            causes.append(
                Cause("FieldValueInvalid", "spec.template", "spec.template: Invalid value: ...: field is immutable")
            )
    if kind == "Service":
        old_ip, new_ip = old_spec.get("clusterIP"), new_spec.get("clusterIP")
        if (
            old_ip
            and new_ip
            and old_ip != new_ip
            and not (new_spec.get("type") == "ExternalName" or old_spec.get("type") == "ExternalName")
        ):
            immutable("spec.clusterIPs[0]", old_ip, new_ip)
    if kind == "PersistentVolumeClaim":
        a = {k: v for k, v in old_spec.items() if k not in ("resources", "volumeAttributesClassName", "volumeName")}
        b = {k: v for k, v in new_spec.items() if k not in ("resources", "volumeAttributesClassName", "volumeName")}
        if a != b:
            causes.append(
                Cause(
                    "FieldValueForbidden",
                    "spec",
                    "spec: Forbidden: spec is immutable after creation except resources.requests and "
                    "volumeAttributesClassName for bound claims",
                )
            )
    if kind in ("RoleBinding", "ClusterRoleBinding") and old.get("roleRef") != new.get("roleRef"):
        causes.append(
            Cause(
                "FieldValueInvalid",
                "roleRef",
                f"roleRef: Invalid value: {_short(new.get('roleRef'))}: cannot change roleRef",
            )
        )
    if kind in ("Secret", "ConfigMap") and old.get("immutable"):
        for key in ("data", "binaryData", "stringData"):
            if old.get(key) != new.get(key):
                causes.append(
                    Cause("FieldValueForbidden", key, f"{key}: Forbidden: field is immutable when `immutable` is set")
                )
        if new.get("immutable") is not True:
            causes.append(
                Cause(
                    "FieldValueForbidden",
                    "immutable",
                    "immutable: Forbidden: field is immutable when `immutable` is set",
                )
            )
    if kind == "Secret" and old.get("type") != new.get("type"):
        immutable("type", old.get("type"), new.get("type"))
    if kind == "StorageClass":
        for key in ("parameters", "provisioner", "reclaimPolicy", "volumeBindingMode"):
            if old.get(key) != new.get(key):
                causes.append(Cause("FieldValueForbidden", key, f"{key}: Forbidden: updates to {key} are forbidden."))
    return causes


def _short(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    text = json.dumps(value, sort_keys=True)
    return text if len(text) < 120 else text[:117] + "..."


# ------------------------------------------------------------------ controllers: status


def _conditions(old_status: Any, conditions: list[dict], now: str) -> list[dict]:
    """Conditions with timestamps carried over from the old status when type/status/reason did not change."""
    old = {}
    if isinstance(old_status, dict):
        old = {c.get("type"): c for c in old_status.get("conditions") or [] if isinstance(c, dict)}
    out = []
    for template in conditions:
        prev = old.get(template["type"])
        cond = dict(template)
        same = prev and prev.get("status") == cond["status"] and prev.get("reason") == cond.get("reason")
        for stamp in [k for k, v in cond.items() if k.endswith("Time") and v == ""]:
            cond[stamp] = prev.get(stamp, now) if same else now
        out.append(cond)
    return out


def compute_status(kind: str, obj: dict, old_status: Any, env: Env) -> Any:
    """The status a healthy (or, with ``env.unready``, a stuck) cluster would show; None = leave as is."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    generation = meta.get("generation", 1)
    now = env.now
    if kind == "Deployment":
        replicas = spec.get("replicas", 1)
        replica_set = f"{meta.get('name')}-{template_hash(spec.get('template'))}"
        if env.unready:
            status = {
                "observedGeneration": generation,
                "replicas": replicas,
                "updatedReplicas": replicas,
                "unavailableReplicas": replicas,
            }
            conds = [
                _cond(
                    "Available",
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                    update=True,
                ),
                _cond(
                    "Progressing",
                    "True",
                    "ReplicaSetUpdated",
                    f'ReplicaSet "{replica_set}" is progressing.',
                    update=True,
                ),
            ]
        else:
            status = {
                "observedGeneration": generation,
                "replicas": replicas,
                "updatedReplicas": replicas,
                "readyReplicas": replicas,
                "availableReplicas": replicas,
            }
            conds = [
                _cond(
                    "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", update=True
                ),
                _cond(
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    f'ReplicaSet "{replica_set}" has successfully progressed.',
                    update=True,
                ),
            ]
        status = {k: v for k, v in status.items() if v or k == "observedGeneration"}
        status["conditions"] = _conditions(old_status, conds, now)
        return status
    if kind == "StatefulSet":
        replicas = spec.get("replicas", 1)
        revision = f"{meta.get('name')}-{template_hash(spec.get('template'))}"
        ready = 0 if env.unready else replicas
        status = {
            "observedGeneration": generation,
            "replicas": replicas,
            "readyReplicas": ready,
            "currentReplicas": replicas,
            "updatedReplicas": replicas,
            "availableReplicas": ready,
            "currentRevision": revision,
            "updateRevision": revision,
            "collisionCount": 0,
        }
        return {
            k: v
            for k, v in status.items()
            if v or k in ("observedGeneration", "collisionCount", "replicas", "availableReplicas")
        }
    if kind == "DaemonSet":
        node_selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
        desired = sum(
            1
            for node in env.nodes
            if all(((node.get("metadata") or {}).get("labels") or {}).get(k) == v for k, v in node_selector.items())
        )
        ready = 0 if env.unready else desired
        status = {
            "currentNumberScheduled": desired,
            "desiredNumberScheduled": desired,
            "numberMisscheduled": 0,
            "numberReady": ready,
            "observedGeneration": generation,
            "updatedNumberScheduled": desired,
            "numberAvailable": ready,
        }
        if desired - ready:
            status["numberUnavailable"] = desired - ready
        if not ready:
            status.pop("numberAvailable")
        return status
    if kind in ("ReplicaSet", "ReplicationController"):
        replicas = spec.get("replicas", 1)
        ready = 0 if env.unready else replicas
        status = {
            "replicas": replicas,
            "fullyLabeledReplicas": replicas,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": generation,
        }
        return {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration")}
    if kind == "Job":
        old = old_status if isinstance(old_status, dict) else {}
        if spec.get("suspend"):
            return {
                "conditions": _conditions(
                    old, [_cond("Suspended", "True", "JobSuspended", "Job suspended", probe=True)], now
                )
            }
        start = old.get("startTime", now)
        if env.unready:
            return {"startTime": start, "active": spec.get("parallelism", 1), "ready": 0, "uncountedTerminatedPods": {}}
        conds = _conditions(old, [_cond("Complete", "True", None, None, probe=True)], now)
        return {
            "conditions": conds,
            "startTime": start,
            "completionTime": old.get("completionTime", now),
            "succeeded": spec.get("completions", 1) or 1,
            "ready": 0,
            "uncountedTerminatedPods": {},
        }
    if kind == "CronJob":
        return old_status if isinstance(old_status, dict) else {}
    if kind == "Namespace":
        return {"phase": "Terminating" if meta.get("deletionTimestamp") else "Active"}
    if kind == "Service":
        if spec.get("type") == "LoadBalancer" and env.lb_ip and not env.unready:
            return {"loadBalancer": {"ingress": [{"ip": env.lb_ip, "ipMode": "VIP"}]}}
        return {"loadBalancer": {}}
    if kind == "Ingress":
        if env.lb_ip and not env.unready:
            return {"loadBalancer": {"ingress": [{"ip": env.lb_ip}]}}
        return {"loadBalancer": {}}
    if kind == "PersistentVolumeClaim":
        class_name = spec.get("storageClassName")
        if env.unready or (class_name and class_name not in env.storage_classes):
            return {"phase": "Pending"}
        storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
        status: dict[str, Any] = {"phase": "Bound", "accessModes": spec.get("accessModes") or ["ReadWriteOnce"]}
        if storage:
            status["capacity"] = {"storage": storage}
        return status
    if kind == "PersistentVolume":
        return {"phase": "Bound" if spec.get("claimRef") else "Available"}
    if kind == "Pod":
        return pod_status(obj, old_status, env)
    if kind == "CustomResourceDefinition":
        names = copy.deepcopy(spec.get("names") or {})
        storage = [v.get("name") for v in spec.get("versions") or [] if v.get("storage")]
        conds = [
            _cond("NamesAccepted", "True", "NoConflicts", "no conflicts found"),
            _cond("Established", "True", "InitialNamesAccepted", "the initial names have been accepted"),
        ]
        old_stored = (old_status or {}).get("storedVersions") or [] if isinstance(old_status, dict) else []
        stored = list(old_stored)
        for version in storage:
            if version not in stored:
                stored.append(version)
        return {"acceptedNames": names, "conditions": _conditions(old_status, conds, now), "storedVersions": stored}
    if kind == "PodDisruptionBudget":
        return {
            "observedGeneration": generation,
            "disruptionsAllowed": 0,
            "currentHealthy": 0,
            "desiredHealthy": 0,
            "expectedPods": 0,
            "conditions": _conditions(
                old_status,
                [_cond("DisruptionAllowed", "False", "InsufficientPods", "", observed=generation)],
                now,
            ),
        }
    return None


def pod_status(pod: dict, old_status: Any, env: Env) -> dict:
    spec = pod.get("spec") or {}
    old = old_status if isinstance(old_status, dict) else {}
    start = old.get("startTime", env.now)
    ready = not env.unready
    restart = spec.get("restartPolicy", "Always")
    finished = restart != "Always" and ready
    phase = "Succeeded" if finished else ("Running" if ready else "Pending")
    state_ok = (
        {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": start, "finishedAt": start}}
        if finished
        else {"running": {"startedAt": start}}
    )
    statuses = []
    uid = (pod.get("metadata") or {}).get("uid")
    for container in spec.get("containers") or []:
        statuses.append(
            {
                "name": container.get("name"),
                "image": container.get("image"),
                "imageID": "",
                "ready": ready and not finished,
                "restartCount": 0,
                "started": ready and not finished,
                "state": state_ok if ready else {"waiting": {"reason": "ContainerCreating"}},
                "lastState": {},
                "containerID": f"containerd://{template_hash([uid, container.get('name')], 20)}" if ready else "",
            }
        )
    is_ready = "True" if ready and not finished else "False"
    conds = [
        _cond("Initialized", "True", "PodCompleted" if finished else None, None, probe=True),
        _cond(
            "Ready",
            is_ready,
            "PodCompleted" if finished else (None if ready else "ContainersNotReady"),
            None,
            probe=True,
        ),
        _cond(
            "ContainersReady",
            is_ready,
            "PodCompleted" if finished else (None if ready else "ContainersNotReady"),
            None,
            probe=True,
        ),
        _cond("PodScheduled", "True", None, None, probe=True),
    ]
    status = {
        "phase": phase,
        "conditions": _conditions(old, conds, env.now),
        "hostIP": env.node_ip,
        "hostIPs": [{"ip": env.node_ip}],
        "startTime": start,
        "containerStatuses": statuses,
        "qosClass": "BestEffort",
    }
    pod_ip = old.get("podIP") or env.pod_ip
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    return status


def _cond(
    ctype: str, status: str, reason: str | None, message: str | None, *, update=False, probe=False, observed=None
) -> dict:
    cond: dict[str, Any] = {"type": ctype, "status": status}
    if probe:
        cond["lastProbeTime"] = None
    if update:
        cond["lastUpdateTime"] = ""
    cond["lastTransitionTime"] = ""
    if reason:
        cond["reason"] = reason
    if message is not None:
        cond["message"] = message
    if observed is not None:
        cond["observedGeneration"] = observed
    return cond
