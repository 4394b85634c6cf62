"""The fake cluster: stored objects, the write pipeline of the real API server (admission, validation, defaults,
allocation, generation, resourceVersion, field managers) and small "controllers" that keep objects healthy."""

from __future__ import annotations

import base64
import binascii
import collections
import contextlib
import copy
import datetime as dt
import fnmatch
import ipaddress
import json
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from . import behaviour, patching
from .catalog import BUILTIN, GENERATION_KINDS, VIRTUAL_KINDS, ResourceType, crd_resource_types
from .errors import (
    ApiError,
    already_exists,
    bad_request,
    conflict,
    invalid,
    namespace_not_found,
    not_found,
    status_object,
)
from .validation import SchemaValidator, name_causes

SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
POD_CIDR = ipaddress.ip_network("10.244.0.0/16")
NODE_PORT_RANGE = (30000, 32767)
#: dynamic node ports come from above the static band first (Kubernetes >= 1.27 reserves the lowest 86 ports)
NODE_PORT_DYNAMIC_START = 30086
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
#: kinds whose controller-written status --ready-after delays
DELAYED_KINDS = {
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "PersistentVolumeClaim",
    "Pod",
    "Service",
}

Key = tuple[str, str]  # (namespace or "", name)
TypeKey = tuple[str, str]  # (group, plural)


def now_text() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _random_suffix(length: int = 5) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(random.choice(alphabet) for _ in range(length))


def _strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def _without_rv(obj: dict) -> dict:
    out = dict(obj)
    meta = dict(out.get("metadata") or {})
    meta.pop("resourceVersion", None)
    out["metadata"] = meta
    return out


def _spec_part(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _remove_path(obj: Any, path: list) -> None:
    node = obj
    for part in path[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(node, dict):
        node.pop(path[-1], None)


@dataclass
class Options:
    token: str = "fake-token"
    admin_token: str | None = None
    namespace_only: list[str] = field(default_factory=list)
    node_ips: list[str] = field(default_factory=lambda: ["127.0.0.1"])
    lb_ips: list[str] = field(default_factory=list)
    unready: list[str] = field(default_factory=list)
    kube_version: str = "1.28.0"
    validate: bool = True
    pods: bool = False
    state_file: str | None = None
    watch_timeout: float = 300.0
    user: str = "fake-admin"
    anonymous: bool = False
    ready_after: float = 0.0


@dataclass
class WriteCtx:
    """Per-request settings of a write."""

    dry_run: bool = False
    manager: str = "kube-fake"
    field_validation: str = "Warn"
    warnings: list[str] = field(default_factory=list)
    manager_given: bool = False
    ready_at: float | None = None  # set by admission when --ready-after delays the object


@dataclass
class Event:
    rv: int
    type: str
    type_key: TypeKey
    namespace: str
    obj: dict
    old: dict | None


class Cluster:
    """All state of the fake API server. Every public method takes the lock; objects go out as deep copies."""

    def __init__(self, options: Options | None = None):
        self.options = options or Options()
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.validator = SchemaValidator(self.options.kube_version, self.options.validate)
        self.unready: list[str] = list(self.options.unready)
        self.rv = 0
        self.objects: dict[TypeKey, dict[Key, dict]] = {}
        self.fields: dict[TypeKey, dict[Key, dict[str, dict]]] = {}
        self.events: collections.deque[Event] = collections.deque(maxlen=5000)
        self.generation_counter = 0  # bumped by reset(): stops watches of a previous generation
        self.reconcile_depth = 0  # > 0 while the --pods controllers run
        #: (group, plural, namespace, name) -> monotonic time the object becomes ready (--ready-after)
        self.ready_at: dict[tuple[str, str, str, str], float] = {}
        self._timer: threading.Timer | None = None
        self._dirty = False
        state_file = self.options.state_file
        if state_file and os.path.exists(state_file):
            with self.lock:
                self._load(state_file)
                self._seed(initial=False)  # namespaces and nodes that are missing (a real server recreates them)
                self._flush_if_dirty()
        else:
            self.reset()

    # ------------------------------------------------------------------ types

    def resource_types(self) -> list[ResourceType]:
        with self.lock:
            types = list(BUILTIN)
            for crd in self.objects.get(("apiextensions.k8s.io", "customresourcedefinitions"), {}).values():
                if (crd.get("metadata") or {}).get("deletionTimestamp"):
                    continue
                types += crd_resource_types(crd)
            return types

    def find_type(self, group: str, version: str, plural: str) -> ResourceType | None:
        for rt in self.resource_types():
            if rt.group == group and rt.version == version and rt.plural == plural:
                return rt
        return None

    def type_for(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        for rt in self.resource_types():
            if rt.group == group and rt.version == version and rt.kind == kind:
                return rt
        return None

    def type_by_name(self, name: str) -> list[ResourceType]:
        """Types whose kind, plural, singular or short name is ``name`` (case-insensitive)."""
        name = name.lower()
        out = []
        for rt in self.resource_types():
            names = {rt.kind.lower(), rt.plural, rt.singular, *rt.short_names, f"{rt.plural}.{rt.group}"}
            if name in names:
                out.append(rt)
        return out

    # ------------------------------------------------------------------ set-up and persistence

    def reset(self) -> None:
        """Forget every object and start again with the initial cluster (namespaces, nodes, kubernetes service)."""
        with self.lock:
            self.objects = {}
            self.fields = {}
            self.ready_at = {}
            self.events.clear()
            self.generation_counter += 1
            self.changed.notify_all()
            self._seed()
            self._flush()

    def _seed(self, initial: bool = True) -> None:
        ctx = WriteCtx(manager="kube-apiserver")
        ns_type = self._builtin("", "namespaces")
        for name in [*SYSTEM_NAMESPACES, *self.options.namespace_only]:
            if ("", name) not in self.objects.get(("", "namespaces"), {}):
                self.create(ns_type, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, ctx)
        node_type = self._builtin("", "nodes")
        for index, node_ip in enumerate(self.options.node_ips, start=1):
            if self._stored(node_type, None, f"node-{index}") is None:
                self.create(
                    node_type, None, self._node(f"node-{index}", node_ip, index == 1), WriteCtx(manager="kubelet")
                )
        if initial:
            self.create(
                self._builtin("storage.k8s.io", "storageclasses"),
                None,
                {
                    "apiVersion": "storage.k8s.io/v1",
                    "kind": "StorageClass",
                    "metadata": {
                        "name": "standard",
                        "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
                    },
                    "provisioner": "rancher.io/local-path",
                    "volumeBindingMode": "Immediate",
                    "reclaimPolicy": "Delete",
                },
                ctx,
            )
        if initial:
            self.create(
                self._builtin("", "services"),
                "default",
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {
                        "name": "kubernetes",
                        "namespace": "default",
                        "labels": {"component": "apiserver", "provider": "kubernetes"},
                    },
                    "spec": {
                        "clusterIP": "10.96.0.1",
                        "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
                    },
                },
                ctx,
            )

    def _node(self, name: str, node_ip: str, control_plane: bool) -> dict:
        labels = {
            "beta.kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
        }
        if control_plane:
            labels["node-role.kubernetes.io/control-plane"] = ""
        stamp = now_text()
        version = "v" + self.options.kube_version.lstrip("v")
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": labels},
            "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
            "status": {
                "addresses": [{"type": "InternalIP", "address": node_ip}, {"type": "Hostname", "address": name}],
                "allocatable": {"cpu": "2", "ephemeral-storage": "50Gi", "memory": "8Gi", "pods": "110"},
                "capacity": {"cpu": "2", "ephemeral-storage": "50Gi", "memory": "8Gi", "pods": "110"},
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "KubeletReady",
                        "message": "kubelet is posting ready status",
                        "lastHeartbeatTime": stamp,
                        "lastTransitionTime": stamp,
                    }
                ],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {
                    "architecture": "amd64",
                    "containerRuntimeVersion": "containerd://1.7.1",
                    "kernelVersion": "6.1.0",
                    "kubeProxyVersion": version,
                    "kubeletVersion": version,
                    "operatingSystem": "linux",
                    "osImage": "kube-fake",
                    "bootID": str(uuid.uuid4()),
                    "machineID": uuid.uuid4().hex,
                    "systemUUID": str(uuid.uuid4()),
                },
            },
        }

    def _builtin(self, group: str, plural: str) -> ResourceType:
        for rt in BUILTIN:
            if rt.group == group and rt.plural == plural:
                return rt
        raise KeyError((group, plural))

    def _flush(self) -> None:
        if not self.options.state_file:
            self._dirty = False
            return
        data = {
            "rv": self.rv,
            "unready": self.unready,
            "objects": [
                {"group": g, "plural": p, "object": obj}
                for (g, p), items in self.objects.items()
                for obj in items.values()
            ],
            "fields": [
                {
                    "group": g,
                    "plural": p,
                    "namespace": key[0],
                    "name": key[1],
                    "managers": {
                        m: {**entry, "fields": patching.serialize_paths(entry["fields"])} for m, entry in mgrs.items()
                    },
                }
                for (g, p), items in self.fields.items()
                for key, mgrs in items.items()
            ],
        }
        tmp = f"{self.options.state_file}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(tmp, self.options.state_file)
        self._dirty = False

    def _load(self, path: str) -> None:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        self.rv = int(data.get("rv", 0))
        self.unready = list(data.get("unready") or self.unready)
        for item in data.get("objects") or []:
            obj = item["object"]
            meta = obj.get("metadata") or {}
            self.objects.setdefault((item["group"], item["plural"]), {})[(meta.get("namespace", ""), meta["name"])] = (
                obj
            )
        for item in data.get("fields") or []:
            managers = {
                m: {**entry, "fields": patching.deserialize_paths(entry.get("fields") or [])}
                for m, entry in (item.get("managers") or {}).items()
            }
            self.fields.setdefault((item["group"], item["plural"]), {})[(item["namespace"], item["name"])] = managers

    # ------------------------------------------------------------------ reads

    def _stored(self, rt: ResourceType, namespace: str | None, name: str) -> dict | None:
        return self.objects.get((rt.group, rt.plural), {}).get((namespace or "", name))

    def namespace_exists(self, name: str) -> bool:
        with self.lock:
            return ("", name) in self.objects.get(("", "namespaces"), {})

    def _present(self, rt: ResourceType, obj: dict) -> dict:
        out = copy.deepcopy(obj)
        out["apiVersion"] = rt.group_version
        return out

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict:
        with self.lock:
            obj = self._stored(rt, namespace, name)
            if obj is None:
                raise not_found(rt, name)
            return self._present(rt, obj)

    def list(
        self,
        rt: ResourceType,
        namespace: str | None,
        label_pred: Callable[[dict], bool] | None = None,
        field_pred: Callable[[dict], bool] | None = None,
    ) -> tuple[list[dict], int]:
        with self.lock:
            items = []
            for (ns, _name), obj in sorted(self.objects.get((rt.group, rt.plural), {}).items()):
                if namespace and ns != namespace:
                    continue
                if label_pred and not label_pred((obj.get("metadata") or {}).get("labels") or {}):
                    continue
                if field_pred and not field_pred(obj):
                    continue
                items.append(self._present(rt, obj))
            return items, self.rv

    def all_objects(self) -> list[dict]:
        with self.lock:
            out = []
            for _type_key, items in sorted(self.objects.items()):
                for _key, obj in sorted(items.items()):
                    out.append(copy.deepcopy(obj))
            return out

    def managers(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, dict]:
        with self.lock:
            entry = self.fields.get((rt.group, rt.plural), {}).get((namespace or "", name), {})
            return {
                m: {"operation": e["operation"], "time": e.get("time"), "fields": patching.encode_fields(e["fields"])}
                for m, e in entry.items()
            }

    # ------------------------------------------------------------------ writes: public

    def create(self, rt: ResourceType, namespace: str | None, body: Any, ctx: WriteCtx) -> dict:
        with self.lock:
            if rt.kind in VIRTUAL_KINDS:
                return self._virtual(rt, body)
            obj = self._admit(rt, namespace, body, None, ctx, create=True)
            name = obj["metadata"]["name"]
            if self._stored(rt, namespace, name) is not None:
                raise already_exists(rt, name)
            result = self._commit(rt, None, obj, ctx)
            self._flush_if_dirty()
            return result

    def replace(
        self, rt: ResourceType, namespace: str | None, name: str, body: Any, ctx: WriteCtx, sub: str | None = None
    ) -> dict:
        with self.lock:
            old = self._stored(rt, namespace, name)
            if old is None:
                raise not_found(rt, name)
            obj = self._admit(rt, namespace, body, old, ctx, url_name=name, sub=sub)
            result = self._commit(rt, old, obj, ctx)
            self._flush_if_dirty()
            return result

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        patch_type: str,
        body: Any,
        ctx: WriteCtx,
        sub: str | None = None,
        force: bool = False,
    ) -> dict:
        with self.lock:
            if patch_type == "apply":
                result = self._apply(rt, namespace, name, body, ctx, force, sub)
                self._flush_if_dirty()
                return result
            old = self._stored(rt, namespace, name)
            if old is None:
                raise not_found(rt, name)
            current = self._present(rt, old)
            try:
                if patch_type == "merge":
                    merged = patching.merge_patch(current, body)
                elif patch_type == "strategic":
                    if rt.custom:
                        raise ApiError(
                            415,
                            "UnsupportedMediaType",
                            "the body of the request was in an unknown format - accepted media types include: "
                            "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
                        )
                    if not isinstance(body, dict):
                        raise bad_request("strategic merge patch must be a JSON object")
                    merged = patching.strategic_merge(current, body, rt.kind)
                elif patch_type == "json":
                    merged = patching.json_patch(current, body)
                else:
                    raise ApiError(415, "UnsupportedMediaType", f"unsupported patch type {patch_type}")
            except patching.PatchError as exc:
                if exc.code == 400:
                    raise bad_request(str(exc)) from exc
                raise ApiError(422, "Invalid", str(exc)) from exc
            if not isinstance(merged, dict):
                raise bad_request("the patch did not produce an object")
            obj = self._admit(rt, namespace, merged, old, ctx, url_name=name, sub=sub, from_patch=True)
            result = self._commit(rt, old, obj, ctx)
            self._flush_if_dirty()
            return result

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        ctx: WriteCtx,
        options: dict | None = None,
    ) -> dict:
        options = options or {}
        with self.lock:
            old = self._stored(rt, namespace, name)
            if old is None:
                raise not_found(rt, name)
            pre = options.get("preconditions") or {}
            meta = old.get("metadata") or {}
            if pre.get("uid") and pre["uid"] != meta.get("uid"):
                raise conflict(
                    rt,
                    name,
                    f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {meta.get('uid')}",
                )
            if pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion"):
                raise conflict(
                    rt,
                    name,
                    "the object has been modified; please apply your changes to the latest version and try again",
                )
            if ctx.dry_run:
                out = self._present(rt, old)
                if rt.kind in ("Namespace", "Pod") or meta.get("finalizers"):
                    out["metadata"].setdefault("deletionTimestamp", now_text())
                    return out
                return self._deleted_status(rt, old)
            if meta.get("finalizers") and rt.kind != "Namespace":
                if meta.get("deletionTimestamp"):
                    return self._present(rt, old)
                new = copy.deepcopy(old)
                new["metadata"]["deletionTimestamp"] = now_text()
                new["metadata"]["deletionGracePeriodSeconds"] = 0
                result = self._commit(rt, old, new, ctx, track=False)
                self._flush_if_dirty()
                return result
            self._remove(rt.group, rt.plural, (namespace or "", name), options.get("propagationPolicy") or "Background")
            self._flush_if_dirty()
            if rt.kind in ("Namespace", "Pod"):
                out = self._present(rt, old)
                out["metadata"]["deletionTimestamp"] = now_text()
                if rt.kind == "Namespace":
                    out["status"] = {"phase": "Terminating"}
                else:
                    out["metadata"]["deletionGracePeriodSeconds"] = 30
                return out
            return self._deleted_status(rt, old)

    def delete_collection(
        self,
        rt: ResourceType,
        namespace: str | None,
        label_pred: Callable[[dict], bool] | None,
        field_pred: Callable[[dict], bool] | None,
        ctx: WriteCtx,
        options: dict | None = None,
    ) -> dict:
        with self.lock:
            items, _rv = self.list(rt, namespace, label_pred, field_pred)
            for item in items:
                meta = item["metadata"]
                with contextlib.suppress(ApiError):
                    self.delete(rt, meta.get("namespace"), meta["name"], ctx, options)
            return {
                "kind": f"{rt.kind}List",
                "apiVersion": rt.group_version,
                "metadata": {"resourceVersion": str(self.rv)},
                "items": items,
            }

    def _deleted_status(self, rt: ResourceType, obj: dict) -> dict:
        meta = obj.get("metadata") or {}
        details = {"name": meta.get("name"), "kind": rt.plural, "uid": meta.get("uid")}
        if rt.group:
            details["group"] = rt.group
        return status_object(200, "", "", details)

    # ------------------------------------------------------------------ subresources

    def scale(self, rt: ResourceType, namespace: str | None, name: str) -> dict:
        with self.lock:
            obj = self._stored(rt, namespace, name)
            if obj is None:
                raise not_found(rt, name)
            return self._scale_of(obj)

    def _scale_of(self, obj: dict) -> dict:
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta
            },
            "spec": {"replicas": spec.get("replicas", 1)},
            "status": {
                "replicas": status.get("replicas", 0),
                "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items())),
            },
        }

    def write_scale(
        self, rt: ResourceType, namespace: str | None, name: str, patch_type: str | None, body: Any, ctx: WriteCtx
    ) -> dict:
        with self.lock:
            old = self._stored(rt, namespace, name)
            if old is None:
                raise not_found(rt, name)
            scale = self._scale_of(old)
            if patch_type is None:
                new_scale = body
            elif patch_type == "json":
                new_scale = patching.json_patch(scale, body)
            else:
                new_scale = patching.merge_patch(scale, body)
            replicas = ((new_scale or {}).get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or replicas < 0:
                raise invalid(
                    rt,
                    name,
                    [
                        {
                            "reason": "FieldValueInvalid",
                            "field": "spec.replicas",
                            "message": "spec.replicas: Invalid value",
                        }
                    ],
                )
            merged = copy.deepcopy(old)
            merged.setdefault("spec", {})["replicas"] = replicas
            obj = self._admit(rt, namespace, merged, old, ctx, url_name=name, from_patch=True)
            result = self._commit(rt, old, obj, ctx)
            self._flush_if_dirty()
            return self._scale_of(result)

    def _virtual(self, rt: ResourceType, body: Any) -> dict:
        out = copy.deepcopy(body) if isinstance(body, dict) else {}
        out["apiVersion"] = rt.group_version
        out["kind"] = rt.kind
        out.setdefault("metadata", {})
        if rt.kind.endswith("AccessReview"):
            attrs = (out.get("spec") or {}).get("resourceAttributes") or {}
            allowed = True
            if self.options.namespace_only:
                allowed = bool(attrs.get("namespace")) and attrs.get("namespace") in self.options.namespace_only
            out["status"] = {"allowed": allowed}
            if not allowed:
                out["status"]["reason"] = "kube-fake: namespace-only mode"
        elif rt.kind == "SelfSubjectRulesReview":
            out["status"] = {
                "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                "incomplete": False,
            }
        elif rt.kind in ("TokenReview", "SelfSubjectReview"):
            out["status"] = {
                "authenticated": True,
                "user": {"username": self.options.user, "groups": ["system:authenticated"]},
            }
            if rt.kind == "SelfSubjectReview":
                out["status"] = {"userInfo": out["status"]["user"]}
        return out

    def set_unready(self, patterns: list[str]) -> list[str]:
        with self.lock:
            self.unready = list(patterns)
            self._refresh_status(lambda rt, obj: True)
            self._flush_if_dirty()
            return list(self.unready)

    # ------------------------------------------------------------------ admission

    def _is_unready(self, rt: ResourceType, obj: dict) -> bool:
        meta = obj.get("metadata") or {}
        due = self.ready_at.get((rt.group, rt.plural, meta.get("namespace", ""), meta.get("name", "")))
        if due is not None and due > time.monotonic():
            return True
        names = {rt.kind.lower(), rt.plural, rt.singular}
        for pattern in self.unready:
            parts = pattern.split("/")
            if len(parts) == 2:
                parts = [parts[0], "", parts[1]]
            if len(parts) != 3:
                continue
            kind, ns, name = parts
            if not any(fnmatch.fnmatch(n, kind.lower()) for n in names):
                continue
            if rt.namespaced and not fnmatch.fnmatch(meta.get("namespace", ""), ns or "*"):
                continue
            if fnmatch.fnmatch(meta.get("name", ""), name or "*"):
                return True
        # pods inherit unreadiness from their owner chain
        for ref in meta.get("ownerReferences") or []:
            owner = self._owner(obj, ref)
            if owner is not None and self._is_unready(*owner):
                return True
        return False

    def _owner(self, obj: dict, ref: dict) -> tuple[ResourceType, dict] | None:
        rt = self.type_for(ref.get("apiVersion", ""), ref.get("kind", ""))
        if rt is None:
            return None
        ns = (obj.get("metadata") or {}).get("namespace") if rt.namespaced else None
        owner = self._stored(rt, ns, ref.get("name", ""))
        if owner is None or (owner.get("metadata") or {}).get("uid") != ref.get("uid"):
            return None
        return rt, owner

    def _env(self, rt: ResourceType, obj: dict) -> behaviour.Env:
        nodes = list(self.objects.get(("", "nodes"), {}).values())
        return behaviour.Env(
            now=now_text(),
            unready=self._is_unready(rt, obj),
            nodes=nodes,
            lb_ip=self._lb_ip(obj) if rt.kind == "Service" else (self.options.lb_ips or [None])[0],
            storage_classes={
                key[1]: sc for key, sc in self.objects.get(("storage.k8s.io", "storageclasses"), {}).items()
            },
            node_ip=self.options.node_ips[0] if self.options.node_ips else "127.0.0.1",
            pod_ip=self._pod_ip(obj) if rt.kind == "Pod" else None,
        )

    def _lb_ip(self, obj: dict) -> str | None:
        pool = self.options.lb_ips
        if not pool:
            return None
        requested = (obj.get("spec") or {}).get("loadBalancerIP")
        if requested:
            return requested
        old = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        if old and old[0].get("ip"):
            return old[0]["ip"]
        count = sum(
            1
            for svc in self.objects.get(("", "services"), {}).values()
            if (svc.get("spec") or {}).get("type") == "LoadBalancer"
        )
        return pool[count % len(pool)]

    def _pod_ip(self, pod: dict) -> str:
        old = (pod.get("status") or {}).get("podIP")
        if old:
            return old
        used = {(p.get("status") or {}).get("podIP") for p in self.objects.get(("", "pods"), {}).values()}
        for offset in range(2, 60000):
            candidate = str(POD_CIDR.network_address + offset)
            if candidate not in used:
                return candidate
        return str(POD_CIDR.network_address + 2)

    def _admit(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: Any,
        old: dict | None,
        ctx: WriteCtx,
        *,
        create: bool = False,
        url_name: str | None = None,
        sub: str | None = None,
        from_patch: bool = False,
    ) -> dict:
        """Turn a request body into the object that would be stored; raises ApiError like the real server."""
        if not isinstance(body, dict):
            raise bad_request(f"the body of the request must be a {rt.kind} object")
        obj = copy.deepcopy(body)
        status_in = obj.pop("status", None)
        obj = _strip_nulls(obj)
        if status_in is not None:
            obj["status"] = status_in
        # kind and apiVersion
        if from_patch:
            obj["apiVersion"], obj["kind"] = rt.group_version, rt.kind
        else:
            if not obj.get("kind"):
                raise bad_request(f"Object 'Kind' is missing in '{json.dumps(body)[:200]}'")
            if obj.get("apiVersion") != rt.group_version:
                raise bad_request(
                    f"the API version in the data ({obj.get('apiVersion')}) does not match the expected API "
                    f"version ({rt.group_version})"
                )
            if obj["kind"] != rt.kind:
                raise bad_request(f"the kind in the data ({obj['kind']}) does not match the expected kind ({rt.kind})")
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        if rt.namespaced:
            if meta.get("namespace") and namespace and meta["namespace"] != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace or meta.get("namespace") or "default"
            namespace = meta["namespace"]
        else:
            meta.pop("namespace", None)
        meta.pop("managedFields", None)
        meta.pop("selfLink", None)
        now = now_text()
        if create:
            if not meta.get("name") and meta.get("generateName"):
                for _ in range(20):
                    candidate = f"{meta['generateName']}{_random_suffix()}"
                    if self._stored(rt, namespace, candidate) is None:
                        meta["name"] = candidate
                        break
            if meta.get("resourceVersion"):
                raise ApiError(500, "InternalError", "resourceVersion should not be set on objects to be created")
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now
            for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
                meta.pop(key, None)
            if rt.namespaced and rt.kind not in VIRTUAL_KINDS and not self.namespace_exists(namespace):
                raise namespace_not_found(namespace)
        else:
            assert old is not None
            old_meta = old.get("metadata") or {}
            if url_name is not None and meta.get("name") != url_name:
                raise bad_request(
                    f"the name of the object ({meta.get('name')}) does not match the name on the URL ({url_name})"
                )
            if meta.get("resourceVersion") and meta["resourceVersion"] != old_meta.get("resourceVersion"):
                raise conflict(
                    rt,
                    url_name or meta.get("name", ""),
                    "the object has been modified; please apply your changes to the latest version and try again",
                )
            for key in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
                if key in old_meta:
                    meta[key] = old_meta[key]
                else:
                    meta.pop(key, None)
            if old_meta.get("deletionTimestamp"):
                added = set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
                if added:
                    raise invalid(
                        rt,
                        meta.get("name", ""),
                        [
                            {
                                "reason": "FieldValueForbidden",
                                "field": "metadata.finalizers",
                                "message": "metadata.finalizers: Forbidden: no new finalizers can be added if the "
                                "object is being deleted",
                            }
                        ],
                    )
        meta["resourceVersion"] = (old or {}).get("metadata", {}).get("resourceVersion", "")
        if not meta["resourceVersion"]:
            meta.pop("resourceVersion")
        name = meta.get("name", "")
        # status: only the status subresource writes it, for kinds that have one
        if sub == "status":
            new = copy.deepcopy(old)
            if "status" in obj:
                new["status"] = obj["status"]
            else:
                new.pop("status", None)
            obj = new
        elif rt.has_status and rt.kind != "Node":
            if old is not None and "status" in old:
                obj["status"] = copy.deepcopy(old["status"])
            else:
                obj.pop("status", None)
        if rt.kind == "Secret":
            self._secret_string_data(obj)
        if sub == "status":
            return obj
        # validation
        causes = list(name_causes(rt.kind, name, meta.get("generateName")))
        if not rt.custom:
            schema_causes, unknown = self.validator.validate(
                {k: v for k, v in obj.items() if k != "status"} if rt.has_status else obj
            )
            causes += schema_causes
            if unknown:
                mode = ctx.field_validation
                if mode == "Strict":
                    text = ", ".join(f'unknown field "{u}"' for u in unknown)
                    raise bad_request(f"strict decoding error: {text}")
                if mode != "Ignore":
                    ctx.warnings.extend(f'unknown field "{u}"' for u in unknown)
                for path in unknown:
                    _remove_path(obj, _split_field(path))
        if causes:
            raise invalid(rt, name, causes)
        # defaults and the checks that need them
        env = self._env(rt, obj)
        behaviour.apply_defaults(rt.kind, obj, env)
        causes = behaviour.semantic_causes(rt.kind, obj)
        if old is not None:
            causes += behaviour.immutable_causes(rt.kind, old, obj)
        if rt.kind == "Service":
            causes += self._allocate_service(obj, old, (namespace or "", name))
        if causes:
            raise invalid(rt, name, causes)
        # generation
        if rt.kind in GENERATION_KINDS or rt.custom:
            if old is None:
                meta["generation"] = 1
            else:
                generation = (old.get("metadata") or {}).get("generation", 1)
                if _spec_part(old) != _spec_part(obj):
                    generation += 1
                meta["generation"] = generation
        else:
            meta.pop("generation", None)
        # controllers
        if self.options.ready_after > 0 and rt.kind in DELAYED_KINDS:
            generation_changed = old is None or meta.get("generation") != (old.get("metadata") or {}).get("generation")
            if generation_changed:
                ctx.ready_at = time.monotonic() + self.options.ready_after
                env.unready = True
        status = behaviour.compute_status(rt.kind, obj, obj.get("status"), env)
        if status is not None:
            obj["status"] = status
        if rt.kind == "PersistentVolumeClaim" and (obj.get("status") or {}).get("phase") == "Bound":
            obj["spec"].setdefault("volumeName", f"pvc-{meta['uid']}")
        return obj

    @staticmethod
    def _secret_string_data(obj: dict) -> None:
        for key, value in (obj.get("data") or {}).items():
            if not isinstance(value, str):
                continue
            try:
                base64.b64decode(value, validate=True)
            except (ValueError, binascii.Error) as exc:
                raise bad_request(
                    f'Secret in version "v1" cannot be handled as a Secret: illegal base64 data in data.{key}'
                ) from exc
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict):
            data = obj.setdefault("data", {})
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()

    # ------------------------------------------------------------------ services

    def _allocate_service(self, obj: dict, old: dict | None, key: Key) -> list[dict]:
        spec = obj.setdefault("spec", {})
        old_spec = (old or {}).get("spec") or {}
        causes: list[dict] = []
        stype = spec.get("type", "ClusterIP")
        services = {k: s for k, s in self.objects.get(("", "services"), {}).items() if k != key}
        if stype == "ExternalName":
            for f in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
                spec.pop(f, None)
        else:
            requested = spec.get("clusterIP") or (spec.get("clusterIPs") or [None])[0]
            if not requested and old_spec.get("clusterIP") and old_spec.get("type") != "ExternalName":
                requested = old_spec["clusterIP"]
                spec["clusterIP"] = requested
            used = {(s.get("spec") or {}).get("clusterIP") for s in services.values()}
            if requested and requested != "None":
                if requested != old_spec.get("clusterIP"):
                    try:
                        address = ipaddress.ip_address(requested)
                    except ValueError:
                        address = None
                    if address is None or address not in SERVICE_CIDR:
                        causes.append(
                            {
                                "reason": "FieldValueInvalid",
                                "field": "spec.clusterIPs",
                                "message": f'spec.clusterIPs: Invalid value: []string{{"{requested}"}}: failed to '
                                f"allocate IP {requested}: the provided IP ({requested}) is not in the valid range. "
                                f"The range of valid IPs is {SERVICE_CIDR}",
                            }
                        )
                    elif requested in used:
                        causes.append(
                            {
                                "reason": "FieldValueInvalid",
                                "field": "spec.clusterIPs",
                                "message": f'spec.clusterIPs: Invalid value: []string{{"{requested}"}}: failed to '
                                f"allocate IP {requested}: provided IP is already allocated",
                            }
                        )
                ip = requested
            elif requested == "None":
                ip = "None"
            else:
                ip = next(
                    str(SERVICE_CIDR.network_address + n)
                    for n in range(2, SERVICE_CIDR.num_addresses - 1)
                    if str(SERVICE_CIDR.network_address + n) not in used
                )
            spec["clusterIP"] = ip
            spec["clusterIPs"] = [ip]
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
        # node ports
        needs_ports = stype == "NodePort" or (
            stype == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts", True)
        )
        used_ports = set()
        for svc in services.values():
            for port in (svc.get("spec") or {}).get("ports") or []:
                if port.get("nodePort"):
                    used_ports.add((port["nodePort"], port.get("protocol", "TCP")))
            hc = (svc.get("spec") or {}).get("healthCheckNodePort")
            if hc:
                used_ports.add((hc, "TCP"))
        old_ports = {
            (p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
            for p in old_spec.get("ports") or []
            if p.get("nodePort")
        }
        was_node_type = old_spec.get("type") in ("NodePort", "LoadBalancer")
        mine: set = set()
        for index, port in enumerate(spec.get("ports") or []):
            if not isinstance(port, dict):
                continue
            proto = port.get("protocol", "TCP")
            if not needs_ports:
                if (
                    stype not in ("NodePort", "LoadBalancer")
                    and was_node_type
                    and port.get("nodePort")
                    and old_ports.get((port.get("port"), proto)) == port["nodePort"]
                ):
                    port.pop("nodePort")  # switching away from NodePort drops the allocated ports
                continue
            requested_port = port.get("nodePort") or old_ports.get((port.get("port"), proto))
            if requested_port:
                low, high = NODE_PORT_RANGE
                field_name = f"spec.ports[{index}].nodePort"
                if not low <= requested_port <= high:
                    causes.append(
                        {
                            "reason": "FieldValueInvalid",
                            "field": field_name,
                            "message": f"{field_name}: Invalid value: {requested_port}: provided port is not in the "
                            f"valid range. The range of valid ports is {low}-{high}",
                        }
                    )
                elif (requested_port, proto) in used_ports or (requested_port, proto) in mine:
                    causes.append(
                        {
                            "reason": "FieldValueInvalid",
                            "field": field_name,
                            "message": f"{field_name}: Invalid value: {requested_port}: provided port is already "
                            "allocated",
                        }
                    )
                port["nodePort"] = requested_port
            else:
                port["nodePort"] = self._free_node_port(used_ports | mine, proto)
            mine.add((port["nodePort"], proto))
        if stype == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local":
            if not spec.get("healthCheckNodePort"):
                spec["healthCheckNodePort"] = old_spec.get("healthCheckNodePort") or self._free_node_port(
                    used_ports | mine, "TCP"
                )
        else:
            spec.pop("healthCheckNodePort", None)
        return causes

    @staticmethod
    def _free_node_port(used: set, proto: str) -> int:
        low, high = NODE_PORT_RANGE
        for candidate in [*range(NODE_PORT_DYNAMIC_START, high + 1), *range(low, NODE_PORT_DYNAMIC_START)]:
            if (candidate, proto) not in used:
                return candidate
        raise ApiError(500, "InternalError", "range is full")

    # ------------------------------------------------------------------ commit, remove, events

    def _commit(
        self,
        rt: ResourceType,
        old: dict | None,
        obj: dict,
        ctx: WriteCtx,
        track: bool = True,
        apply_fields: set | None = None,
    ) -> dict:
        if old is not None and _without_rv(old) == _without_rv(obj):
            if apply_fields is not None and not ctx.dry_run:
                self._set_manager(rt, obj, ctx.manager, "Apply", apply_fields)
            return self._present(rt, old)
        if ctx.dry_run:
            return self._present(rt, obj)
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if ctx.ready_at is not None:
            self.ready_at[(rt.group, rt.plural, *key)] = ctx.ready_at
            timer = threading.Timer(max(0.0, ctx.ready_at - time.monotonic()) + 0.02, self._wake)
            timer.daemon = True
            timer.start()
            ctx.ready_at = None
        self.objects.setdefault((rt.group, rt.plural), {})[key] = obj
        if track:
            self._track(rt, old, obj, ctx.manager, apply_fields)
        self._emit("ADDED" if old is None else "MODIFIED", rt, obj, old)
        self._dirty = True
        meta = obj["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            self._remove(rt.group, rt.plural, key, "Background")
            return self._present(rt, obj)
        self._after_write(rt, old, obj)
        return self._present(rt, obj)

    def _after_write(self, rt: ResourceType, old: dict | None, obj: dict) -> None:
        if rt.kind == "StorageClass":
            self._refresh_status(lambda t, o: t.kind == "PersistentVolumeClaim")
        if self.options.pods:
            from .pods import reconcile  # noqa: PLC0415 - optional controller

            reconcile(self, rt, obj)

    def _wake(self) -> None:
        """--ready-after: objects whose delay ran out get their healthy status now."""
        with self.lock:
            now = time.monotonic()
            due = [key for key, when in self.ready_at.items() if when <= now]
            if not due:
                return
            for key in due:
                del self.ready_at[key]
            self._refresh_status(lambda rt, obj: rt.kind in DELAYED_KINDS)
            self._flush_if_dirty()

    def _refresh_status(self, predicate: Callable[[ResourceType, dict], bool]) -> None:
        """Recompute the controller-written status of stored objects (after option or dependency changes)."""
        types = {(rt.group, rt.plural): rt for rt in self.resource_types()}
        for type_key, items in list(self.objects.items()):
            rt = types.get(type_key)
            if rt is None:
                continue
            for _key, obj in list(items.items()):
                if not predicate(rt, obj):
                    continue
                new = copy.deepcopy(obj)
                status = behaviour.compute_status(rt.kind, new, new.get("status"), self._env(rt, new))
                if status is None or status == obj.get("status"):
                    continue
                new["status"] = status
                self._commit(rt, obj, new, WriteCtx(manager="kube-controller-manager"), track=False)

    def _emit(self, kind: str, rt: ResourceType, obj: dict, old: dict | None) -> None:
        self.events.append(
            Event(
                self.rv,
                kind,
                (rt.group, rt.plural),
                (obj.get("metadata") or {}).get("namespace", ""),
                copy.deepcopy(obj),
                copy.deepcopy(old) if old is not None else None,
            )
        )
        self.changed.notify_all()

    def _remove(self, group: str, plural: str, key: Key, propagation: str) -> None:
        items = self.objects.get((group, plural), {})
        obj = items.pop(key, None)
        if obj is None:
            return
        self.fields.get((group, plural), {}).pop(key, None)
        self.ready_at.pop((group, plural, *key), None)
        self.rv += 1
        gone = copy.deepcopy(obj)
        gone["metadata"]["resourceVersion"] = str(self.rv)
        rt = next((t for t in self.resource_types() if (t.group, t.plural) == (group, plural)), None)
        if rt is None:  # a custom resource whose definition went first
            rt = ResourceType(
                group,
                gone.get("apiVersion", "v1").rpartition("/")[2],
                plural,
                plural,
                gone.get("kind", ""),
                bool(key[0]),
            )
        self._emit("DELETED", rt, gone, None)
        self._dirty = True
        kind = obj.get("kind")
        if group == "" and plural == "namespaces":
            for (g, p), members in list(self.objects.items()):
                for member_key in [k for k in members if k[0] == key[1]]:
                    self._remove(g, p, member_key, "Background")
        if group == "apiextensions.k8s.io" and plural == "customresourcedefinitions":
            spec = obj.get("spec") or {}
            crd_key = (spec.get("group", ""), (spec.get("names") or {}).get("plural", ""))
            for member_key in list(self.objects.get(crd_key, {})):
                self._remove(crd_key[0], crd_key[1], member_key, "Background")
        uid = obj["metadata"].get("uid")
        if propagation != "Orphan" and uid:
            self._collect_garbage(uid)
        if self.options.pods and kind == "Pod":
            from .pods import owner_lost_pod  # noqa: PLC0415

            owner_lost_pod(self, obj)

    def _collect_garbage(self, uid: str) -> None:
        uids = {(o.get("metadata") or {}).get("uid") for items in self.objects.values() for o in items.values()}
        for (group, plural), items in list(self.objects.items()):
            for key, obj in list(items.items()):
                refs = (obj.get("metadata") or {}).get("ownerReferences") or []
                if any(r.get("uid") == uid for r in refs) and not any(r.get("uid") in uids for r in refs):
                    self._remove(group, plural, key, "Background")

    def _flush_if_dirty(self) -> None:
        if self._dirty:
            self._flush()

    # ------------------------------------------------------------------ field managers (server-side apply)

    def _track(self, rt: ResourceType, old: dict | None, new: dict, manager: str, apply_fields: set | None) -> None:
        key = (new["metadata"].get("namespace", ""), new["metadata"]["name"])
        managers = self.fields.setdefault((rt.group, rt.plural), {}).setdefault(key, {})
        skip_status = rt.has_status
        new_leaves = patching.field_leaves(new, rt.kind, skip_status)
        old_leaves = patching.field_leaves(old, rt.kind, skip_status) if old is not None else {}
        changed = {p for p, v in new_leaves.items() if p not in old_leaves or old_leaves[p] != v}
        removed = set(old_leaves) - set(new_leaves)
        if apply_fields is not None:
            owned = set(apply_fields)
            for other, entry in managers.items():
                if other != manager:
                    entry["fields"] -= removed
            managers[manager] = {
                "operation": "Apply",
                "fields": owned,
                "time": now_text(),
                "apiVersion": rt.group_version,
            }
        else:
            for entry in managers.values():
                entry["fields"] -= changed | removed
            if changed:
                entry = managers.setdefault(
                    manager,
                    {"operation": "Update", "fields": set(), "time": now_text(), "apiVersion": rt.group_version},
                )
                if entry["operation"] == "Apply":
                    entry = managers[manager] = {
                        "operation": "Update",
                        "fields": entry["fields"],
                        "time": now_text(),
                        "apiVersion": rt.group_version,
                    }
                entry["fields"] |= changed
                entry["time"] = now_text()
        for name in [m for m, e in managers.items() if not e["fields"]]:
            del managers[name]

    def _set_manager(self, rt: ResourceType, obj: dict, manager: str, operation: str, paths: set) -> None:
        key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        managers = self.fields.setdefault((rt.group, rt.plural), {}).setdefault(key, {})
        previous = managers.get(manager)
        if previous and previous["fields"] == paths and previous["operation"] == operation:
            return
        managers[manager] = {
            "operation": operation,
            "fields": set(paths),
            "time": now_text(),
            "apiVersion": rt.group_version,
        }
        self._dirty = True

    def _apply(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        config: Any,
        ctx: WriteCtx,
        force: bool,
        sub: str | None,
    ) -> dict:
        if not isinstance(config, dict):
            raise bad_request("apply patch must be an object")
        config = _strip_nulls(config)
        if config.get("apiVersion") != rt.group_version or config.get("kind") != rt.kind:
            raise bad_request(
                f"the API version in the data ({config.get('apiVersion')}) and kind ({config.get('kind')}) do not "
                f"match the expected API version ({rt.group_version}) and kind ({rt.kind})"
            )
        meta = config.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != name:
            raise bad_request(f"the name of the object ({meta['name']}) does not match the name on the URL ({name})")
        meta["name"] = name
        if rt.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
        fields = set(patching.field_leaves(config, rt.kind, rt.has_status))
        old = self._stored(rt, namespace, name)
        if old is None:
            body = copy.deepcopy(config)
            obj = self._admit(rt, namespace, body, None, ctx, create=True)
            return self._commit(rt, None, obj, ctx, apply_fields=fields)
        key = (namespace or "", name)
        managers = self.fields.get((rt.group, rt.plural), {}).get(key, {})
        live = self._present(rt, old)
        conflicts = []
        for other, entry in managers.items():
            if other == ctx.manager:
                continue
            for path in sorted(fields & entry["fields"], key=repr):
                found, live_value = patching.get_path(live, path)
                _f, config_value = patching.get_path(config, path)
                if found and live_value != config_value:
                    conflicts.append((other, path))
        if conflicts and not force:
            lines = [f'conflict with "{m}": {patching.path_text(p)}' for m, p in conflicts]
            message = f"Apply failed with {len(conflicts)} conflict{'s' if len(conflicts) > 1 else ''}: " + "\n".join(
                lines
            )
            raise ApiError(
                409,
                "Conflict",
                message,
                {
                    "name": name,
                    "kind": rt.plural,
                    **({"group": rt.group} if rt.group else {}),
                    "causes": [
                        {
                            "reason": "FieldManagerConflict",
                            "message": f'conflict with "{m}"',
                            "field": patching.path_text(p),
                        }
                        for m, p in conflicts
                    ],
                },
            )
        if conflicts and not ctx.dry_run:
            for other, path in conflicts:
                managers[other]["fields"].discard(path)
        previous = (
            managers.get(ctx.manager, {}).get("fields", set())
            if managers.get(ctx.manager, {}).get("operation") == "Apply"
            else set()
        )
        others = set()
        for other, entry in managers.items():
            if other != ctx.manager:
                others |= entry["fields"]
        merged = copy.deepcopy(live)
        for path in sorted(previous - fields - others, key=len, reverse=True):
            if path[-1] == "." and any(p[: len(path) - 1] == path[:-1] for p in others | fields):
                continue  # the list item stays while another manager (or this apply) owns some of its fields
            patching.remove_path(merged, path)
        try:
            merged = patching.strategic_merge(merged, config, rt.kind)
        except patching.PatchError as exc:
            raise ApiError(422, "Invalid", str(exc)) from exc
        obj = self._admit(rt, namespace, merged, old, ctx, url_name=name, sub=sub, from_patch=True)
        return self._commit(rt, old, obj, ctx, apply_fields=fields)

    # ------------------------------------------------------------------ watch

    def watch(
        self,
        rt: ResourceType,
        namespace: str | None,
        since: int | None,
        match: Callable[[dict], bool],
        timeout: float,
        stopped: Callable[[], bool],
    ) -> Iterator[tuple[str, dict]]:
        """Yield (type, object) events; starts with ADDED for current objects when ``since`` is None."""
        import time  # noqa: PLC0415

        deadline = time.monotonic() + timeout
        type_key = (rt.group, rt.plural)
        with self.lock:
            generation = self.generation_counter
            if since is None:
                items, since = self.list(rt, namespace)
                initial = [("ADDED", item) for item in items if match(item)]
            else:
                initial = []
                if self.events and since < self.events[0].rv - 1 and since < self.rv:
                    initial = [
                        (
                            "ERROR",
                            status_object(
                                410, "Expired", f"too old resource version: {since} ({self.events[0].rv - 1})"
                            ),
                        )
                    ]
        yield from initial
        if initial and initial[0][0] == "ERROR":
            return
        cursor = since
        while not stopped():
            with self.lock:
                if generation != self.generation_counter:
                    return
                pending = [e for e in self.events if e.rv > cursor]
                if not pending:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return
                    self.changed.wait(min(remaining, 1.0))
                    continue
            for event in pending:
                cursor = event.rv
                if event.type_key != type_key or (namespace and event.namespace != namespace):
                    continue
                now_match = match(event.obj)
                was_match = event.old is not None and match(event.old)
                obj = self._present(rt, event.obj)
                if event.type == "MODIFIED":
                    if now_match and not was_match:
                        yield "ADDED", obj
                    elif was_match and not now_match:
                        yield "DELETED", obj
                    elif now_match:
                        yield "MODIFIED", obj
                elif now_match:
                    yield event.type, obj
            if time.monotonic() > deadline:
                return


def _split_field(path: str) -> list:
    out: list = []
    for part in path.replace("]", "").split("."):
        pieces = part.split("[")
        out.append(pieces[0])
        out.extend(int(p) for p in pieces[1:])
    return out
