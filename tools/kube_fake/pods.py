"""Optional workload controllers (``--pods``): Deployments own ReplicaSets, ReplicaSets/StatefulSets/DaemonSets/Jobs
own Pods (and StatefulSets their PersistentVolumeClaims), like kube-controller-manager would create them."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .behaviour import selector_matches, template_hash
from .catalog import ResourceType
from .errors import ApiError

if TYPE_CHECKING:
    from .store import Cluster

CONTROLLER = "kube-controller-manager"


def _owner_ref(rt: ResourceType, obj: dict) -> dict:
    meta = obj["metadata"]
    return {
        "apiVersion": rt.group_version,
        "kind": rt.kind,
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _owned(cluster: Cluster, group: str, plural: str, owner: dict) -> list[dict]:
    uid = owner["metadata"]["uid"]
    ns = owner["metadata"].get("namespace", "")
    out = []
    for (namespace, _name), obj in sorted(cluster.objects.get((group, plural), {}).items()):
        if namespace != ns:
            continue
        refs = (obj.get("metadata") or {}).get("ownerReferences") or []
        if any(r.get("uid") == uid and r.get("controller") for r in refs):
            out.append(obj)
    return sorted(out, key=lambda o: (o["metadata"].get("creationTimestamp", ""), o["metadata"]["name"]))


def _create(cluster: Cluster, group: str, plural: str, namespace: str, body: dict) -> dict | None:
    from .store import WriteCtx  # noqa: PLC0415 - import cycle

    rt = cluster._builtin(group, plural)
    ctx = WriteCtx(manager=CONTROLLER)
    try:
        obj = cluster._admit(rt, namespace, body, None, ctx, create=True)
    except ApiError:
        return None
    if cluster._stored(rt, namespace, obj["metadata"]["name"]) is not None:
        return None
    return cluster._commit(rt, None, obj, ctx)


def _update(cluster: Cluster, group: str, plural: str, old: dict, new: dict) -> None:
    from .store import WriteCtx  # noqa: PLC0415

    rt = cluster._builtin(group, plural)
    ctx = WriteCtx(manager=CONTROLLER)
    meta = old["metadata"]
    try:
        obj = cluster._admit(rt, meta.get("namespace"), new, old, ctx, url_name=meta["name"], from_patch=True)
    except ApiError:
        return
    cluster._commit(rt, old, obj, ctx)


def _delete(cluster: Cluster, group: str, plural: str, obj: dict) -> None:
    meta = obj["metadata"]
    cluster._remove(group, plural, (meta.get("namespace", ""), meta["name"]), "Background")


def _pod_body(owner_rt: ResourceType, owner: dict, template: dict, name: str | None, extra_labels: dict) -> dict:
    template = copy.deepcopy(template or {})
    tmeta = template.get("metadata") or {}
    labels = {**(tmeta.get("labels") or {}), **extra_labels}
    meta: dict[str, Any] = {"labels": labels, "ownerReferences": [_owner_ref(owner_rt, owner)]}
    if tmeta.get("annotations"):
        meta["annotations"] = tmeta["annotations"]
    if name:
        meta["name"] = name
    else:
        meta["generateName"] = f"{owner['metadata']['name']}-"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template.get("spec") or {}}


def reconcile(cluster: Cluster, rt: ResourceType, obj: dict) -> None:
    meta = obj.get("metadata") or {}
    if meta.get("deletionTimestamp") or not cluster.namespace_exists(meta.get("namespace", "") or "default"):
        return
    cluster.reconcile_depth += 1
    try:
        _reconcile(cluster, rt, obj)
    finally:
        cluster.reconcile_depth -= 1


def _reconcile(cluster: Cluster, rt: ResourceType, obj: dict) -> None:
    if rt.group == "apps" and rt.kind == "Deployment":
        _deployment(cluster, rt, obj)
    elif rt.group == "apps" and rt.kind == "ReplicaSet":
        _replicaset(cluster, rt, obj)
    elif rt.group == "apps" and rt.kind == "StatefulSet":
        _statefulset(cluster, rt, obj)
    elif rt.group == "apps" and rt.kind == "DaemonSet":
        _daemonset(cluster, rt, obj)
    elif rt.group == "batch" and rt.kind == "Job":
        _job(cluster, rt, obj)


def owner_lost_pod(cluster: Cluster, pod: dict) -> None:
    """A pod went away (not by a controller): its controller, when it still exists, makes a replacement."""
    if cluster.reconcile_depth:
        return
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if not ref.get("controller"):
            continue
        owner = cluster._owner(pod, ref)
        if owner is not None:
            reconcile(cluster, *owner)


def _deployment(cluster: Cluster, rt: ResourceType, dep: dict) -> None:
    spec = dep.get("spec") or {}
    template = copy.deepcopy(spec.get("template") or {})
    pod_hash = template_hash(template)
    name = f"{dep['metadata']['name']}-{pod_hash}"
    replicas = spec.get("replicas", 1)
    owned = _owned(cluster, "apps", "replicasets", dep)
    current = next((rs for rs in owned if rs["metadata"]["name"] == name), None)
    revision = 1 + max(
        (int((rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", "0")) for rs in owned),
        default=0,
    )
    for rs in owned:
        if rs is not current and (rs.get("spec") or {}).get("replicas", 0) != 0:
            new = copy.deepcopy(rs)
            new["spec"]["replicas"] = 0
            _update(cluster, "apps", "replicasets", rs, new)
    if current is None:
        template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = pod_hash
        selector = copy.deepcopy(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})["pod-template-hash"] = pod_hash
        _create(
            cluster,
            "apps",
            "replicasets",
            dep["metadata"]["namespace"],
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": name,
                    "labels": template["metadata"]["labels"],
                    "annotations": {
                        "deployment.kubernetes.io/desired-replicas": str(replicas),
                        "deployment.kubernetes.io/max-replicas": str(replicas + 1),
                        "deployment.kubernetes.io/revision": str(revision),
                    },
                    "ownerReferences": [_owner_ref(rt, dep)],
                },
                "spec": {"replicas": replicas, "selector": selector, "template": template},
            },
        )
    elif (current.get("spec") or {}).get("replicas") != replicas:
        new = copy.deepcopy(current)
        new["spec"]["replicas"] = replicas
        new["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/desired-replicas"] = str(replicas)
        _update(cluster, "apps", "replicasets", current, new)
    history = spec.get("revisionHistoryLimit", 10)
    old = [rs for rs in _owned(cluster, "apps", "replicasets", dep) if rs["metadata"]["name"] != name]
    for rs in old[: max(0, len(old) - history)]:
        _delete(cluster, "apps", "replicasets", rs)


def _replicaset(cluster: Cluster, rt: ResourceType, rs: dict) -> None:
    spec = rs.get("spec") or {}
    pods = [p for p in _owned(cluster, "", "pods", rs) if not p["metadata"].get("deletionTimestamp")]
    wanted = spec.get("replicas", 1)
    extra = {}
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not selector_matches(spec.get("selector"), labels):
        return
    for _ in range(wanted - len(pods)):
        _create(cluster, "", "pods", rs["metadata"]["namespace"], _pod_body(rt, rs, spec.get("template"), None, extra))
    for pod in reversed(pods[wanted:] if wanted < len(pods) else []):
        _delete(cluster, "", "pods", pod)


def _statefulset(cluster: Cluster, rt: ResourceType, sts: dict) -> None:
    spec = sts.get("spec") or {}
    name = sts["metadata"]["name"]
    namespace = sts["metadata"]["namespace"]
    revision = f"{name}-{template_hash(spec.get('template'))}"
    replicas = spec.get("replicas", 1)
    pods = {p["metadata"]["name"]: p for p in _owned(cluster, "", "pods", sts)}
    claims = spec.get("volumeClaimTemplates") or []
    for index in range(replicas):
        pod_name = f"{name}-{index}"
        pod = pods.pop(pod_name, None)
        if pod is not None and (pod["metadata"].get("labels") or {}).get("controller-revision-hash") == revision:
            continue
        if pod is not None:
            _delete(cluster, "", "pods", pod)
        for claim in claims:
            claim_name = f"{claim['metadata']['name']}-{pod_name}"
            body = {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {
                    "name": claim_name,
                    "labels": dict((spec.get("selector") or {}).get("matchLabels") or {}),
                },
                "spec": copy.deepcopy(claim.get("spec") or {}),
            }
            if cluster._stored(cluster._builtin("", "persistentvolumeclaims"), namespace, claim_name) is None:
                _create(cluster, "", "persistentvolumeclaims", namespace, body)
        body = _pod_body(
            rt,
            sts,
            spec.get("template"),
            pod_name,
            {
                "controller-revision-hash": revision,
                "statefulset.kubernetes.io/pod-name": pod_name,
                "apps.kubernetes.io/pod-index": str(index),
            },
        )
        body["spec"]["hostname"] = pod_name
        if spec.get("serviceName"):
            body["spec"]["subdomain"] = spec["serviceName"]
        volumes = body["spec"].setdefault("volumes", [])
        for claim in claims:
            volumes.append(
                {
                    "name": claim["metadata"]["name"],
                    "persistentVolumeClaim": {"claimName": f"{claim['metadata']['name']}-{pod_name}"},
                }
            )
        _create(cluster, "", "pods", namespace, body)
    for pod in pods.values():
        _delete(cluster, "", "pods", pod)


def _daemonset(cluster: Cluster, rt: ResourceType, ds: dict) -> None:
    spec = ds.get("spec") or {}
    template = spec.get("template") or {}
    selector = (template.get("spec") or {}).get("nodeSelector") or {}
    revision = template_hash(template)
    pods = _owned(cluster, "", "pods", ds)
    by_node = {(p.get("spec") or {}).get("nodeName"): p for p in pods}
    for node in cluster.objects.get(("", "nodes"), {}).values():
        labels = (node.get("metadata") or {}).get("labels") or {}
        node_name = node["metadata"]["name"]
        if not all(labels.get(k) == v for k, v in selector.items()):
            continue
        pod = by_node.pop(node_name, None)
        if pod is not None and (pod["metadata"].get("labels") or {}).get("controller-revision-hash") == revision:
            continue
        if pod is not None:
            _delete(cluster, "", "pods", pod)
        body = _pod_body(
            rt,
            ds,
            template,
            None,
            {"controller-revision-hash": revision, "pod-template-generation": str(ds["metadata"].get("generation", 1))},
        )
        body["spec"]["nodeName"] = node_name
        _create(cluster, "", "pods", ds["metadata"]["namespace"], body)
    for pod in by_node.values():
        _delete(cluster, "", "pods", pod)


def _job(cluster: Cluster, rt: ResourceType, job: dict) -> None:
    spec = job.get("spec") or {}
    if spec.get("suspend") or _owned(cluster, "", "pods", job):
        return
    _create(cluster, "", "pods", job["metadata"]["namespace"], _pod_body(rt, job, spec.get("template"), None, {}))
