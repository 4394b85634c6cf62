"""Patch semantics of the Kubernetes API: JSON merge patch, strategic merge patch, JSON patch, server-side apply.

Strategic merge patch and server-side apply need to know which lists are keyed ("associative") and by which
field. The real server reads that from Go struct tags; here :func:`list_key` knows the common ones.
"""

from __future__ import annotations

import copy
import json
from typing import Any

SET = "<set>"  # a list of scalars merged as a set (metadata.finalizers)

_CONTAINER_LISTS = {"containers", "initContainers", "ephemeralContainers"}
_BY_FIELD = {
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "ownerReferences": "uid",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
    "schedulingGates": "name",
    "resizePolicy": "resourceName",
    "webhooks": "name",
    "podIPs": "ip",
    "hostIPs": "ip",
    "addresses": "type",
    "taints": "key",
}


class PatchError(Exception):
    """A patch that cannot be applied; ``code`` is the HTTP status the real server answers with."""

    def __init__(self, message: str, code: int = 422):
        super().__init__(message)
        self.code = code


def list_key(path: tuple[str, ...], kind: str) -> str | None:
    """The merge key of the list at ``path`` (field names from the object root, no indices); None = atomic."""
    if not path:
        return None
    last = path[-1]
    parent = path[-2] if len(path) > 1 else ""
    if last in _CONTAINER_LISTS:
        return "name"
    if last == "ports":
        if parent in _CONTAINER_LISTS:
            return "containerPort"
        if kind == "Service" and path == ("spec", "ports"):
            return "port"
        return None
    if last == "conditions":
        return "type"
    if last == "finalizers" and parent == "metadata":
        return SET
    if last == "addresses" and kind != "Node":
        return None
    if last == "taints" and kind != "Node":
        return None
    return _BY_FIELD.get(last)


# ------------------------------------------------------------------ JSON merge patch (RFC 7386)


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# ------------------------------------------------------------------ strategic merge patch


def _clean(value: Any) -> Any:
    """A patch value without SMP directives, as stored when nothing was there to merge with."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if not k.startswith("$") and v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value if not (isinstance(v, dict) and v.get("$patch") in ("delete", "replace"))]
    return value


def strategic_merge(original: Any, patch: Any, kind: str, path: tuple[str, ...] = ()) -> Any:
    """Apply a strategic merge patch. Returns the merged value (a dict for object patches)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return _clean(patch)
    if directive == "delete":
        return None
    if directive is not None and directive != "merge":
        raise PatchError(f"unknown patch type: {directive}", 400)
    result = copy.deepcopy(original) if isinstance(original, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list) and isinstance(value, list):
                result[field] = [v for v in result[field] if v not in value]
            continue
        if key.startswith("$"):
            continue
        sub = (*path, key)
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = strategic_merge(result.get(key), value, kind, sub)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, kind, sub)
        else:
            result[key] = value
    for key, value in patch.items():
        if key.startswith("$setElementOrder/"):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list) and isinstance(value, list):
                result[field] = _reorder(result[field], value, list_key((*path, field), kind))
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _reorder(items: list, order: list, key: str | None) -> list:
    def ident(item: Any) -> Any:
        if key and key != SET and isinstance(item, dict):
            return json.dumps(item.get(key), sort_keys=True)
        return json.dumps(item, sort_keys=True)

    wanted = [ident(o) for o in order]
    position = {w: i for i, w in enumerate(wanted)}
    indexed = list(enumerate(items))
    indexed.sort(key=lambda pair: position.get(ident(pair[1]), len(wanted) + pair[0]))
    return [item for _i, item in indexed]


def _merge_list(original: Any, patch: list, kind: str, path: tuple[str, ...]) -> list:
    key = list_key(path, kind)
    replace = any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch)
    if replace or key is None or not isinstance(original, list):
        return _clean(patch)
    result = copy.deepcopy(original)
    if key == SET:
        for item in patch:
            if item not in result:
                result.append(copy.deepcopy(item))
        return result
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            if isinstance(item, dict) and item.get("$patch") == "delete":
                continue
            raise PatchError(f"map: {item} does not contain declared merge key: {key}", 422)
        index = next(
            (i for i, existing in enumerate(result) if isinstance(existing, dict) and existing.get(key) == item[key]),
            None,
        )
        if item.get("$patch") == "delete":
            result = [e for e in result if not (isinstance(e, dict) and e.get(key) == item[key])]
        elif index is None:
            result.append(_clean(item))
        else:
            result[index] = strategic_merge(result[index], item, kind, path)
    return result


# ------------------------------------------------------------------ JSON patch (RFC 6902)


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer: {path!r}", 400)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str], op: str) -> tuple[Any, str]:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict):
            if part not in node:
                raise PatchError(f"jsonpatch {op} operation does not apply: doc is missing path: {part}")
            node = node[part]
        elif isinstance(node, list):
            try:
                node = node[int(part)]
            except (ValueError, IndexError) as exc:
                raise PatchError(f"jsonpatch {op} operation does not apply: index {part} out of range") from exc
        else:
            raise PatchError(f"jsonpatch {op} operation does not apply: {part} is not a container")
    return node, parts[-1]


def _get(doc: Any, parts: list[str], op: str) -> Any:
    if not parts:
        return doc
    parent, last = _walk(doc, parts, op)
    try:
        if isinstance(parent, list):
            return parent[int(last)]
        return parent[last]
    except (KeyError, ValueError, IndexError, TypeError) as exc:
        raise PatchError(f"jsonpatch {op} operation does not apply: doc is missing path: /{'/'.join(parts)}") from exc


def _remove(doc: Any, parts: list[str], op: str) -> Any:
    parent, last = _walk(doc, parts, op)
    try:
        if isinstance(parent, list):
            return parent.pop(int(last))
        return parent.pop(last)
    except (KeyError, ValueError, IndexError, TypeError) as exc:
        raise PatchError(f"jsonpatch {op} operation does not apply: doc is missing key: /{'/'.join(parts)}") from exc


def _add(doc: Any, parts: list[str], value: Any, op: str, replace: bool = False) -> Any:
    if not parts:
        return value
    parent, last = _walk(doc, parts, op)
    if isinstance(parent, list):
        if last == "-" and not replace:
            parent.append(value)
            return doc
        try:
            index = int(last)
        except ValueError as exc:
            raise PatchError(f"jsonpatch {op} operation does not apply: invalid index {last}") from exc
        if replace:
            if not 0 <= index < len(parent):
                raise PatchError(f"jsonpatch {op} operation does not apply: index {index} out of range")
            parent[index] = value
        else:
            if not 0 <= index <= len(parent):
                raise PatchError(f"jsonpatch {op} operation does not apply: index {index} out of range")
            parent.insert(index, value)
    elif isinstance(parent, dict):
        if replace and last not in parent:
            raise PatchError(f"jsonpatch {op} operation does not apply: doc is missing key: {last}")
        parent[last] = value
    else:
        raise PatchError(f"jsonpatch {op} operation does not apply: parent is not a container")
    return doc


def json_patch(doc: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        raise PatchError("json patch must be a list of operations", 400)
    doc = copy.deepcopy(doc)
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise PatchError(f"invalid json patch operation: {operation}", 400)
        op = operation["op"]
        parts = _pointer(operation["path"])
        if op == "add":
            doc = _add(doc, parts, copy.deepcopy(operation.get("value")), op)
        elif op == "remove":
            _remove(doc, parts, op)
        elif op == "replace":
            doc = _add(doc, parts, copy.deepcopy(operation.get("value")), op, replace=True)
        elif op in ("move", "copy"):
            source = _pointer(operation.get("from", ""))
            value = _remove(doc, source, op) if op == "move" else copy.deepcopy(_get(doc, source, op))
            doc = _add(doc, parts, value, op)
        elif op == "test":
            if _get(doc, parts, op) != operation.get("value"):
                raise PatchError(f"testing value {operation['path']} failed")
        else:
            raise PatchError(f"Unexpected kind: {op}", 400)
    return doc


# ------------------------------------------------------------------ server-side apply field sets

#: metadata fields that no manager owns
_UNOWNED_META = {
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
}

Path = tuple  # of str (map key), ("k", keyname, value) (list item), ("v", value) (set item), "." (item itself)


def field_leaves(obj: dict, kind: str, skip_status: bool) -> dict[Path, Any]:
    """Every owned leaf of ``obj`` with its value, SSA-style (keyed list items by key, atomic lists whole)."""
    out: dict[Path, Any] = {}
    for key, value in obj.items():
        if key in ("apiVersion", "kind") or (key == "status" and skip_status):
            continue
        if key == "metadata" and isinstance(value, dict):
            for mkey, mvalue in value.items():
                if mkey not in _UNOWNED_META:
                    _leaves(mvalue, ("metadata", mkey), ("metadata", mkey), kind, out)
            continue
        _leaves(value, (key,), (key,), kind, out)
    return out


def _leaves(value: Any, path: Path, names: tuple[str, ...], kind: str, out: dict) -> None:
    if isinstance(value, dict):
        if not value:
            out[path] = {}
        for key, sub in value.items():
            _leaves(sub, (*path, key), (*names, key), kind, out)
        return
    if isinstance(value, list):
        key = list_key(names, kind)
        if key == SET and all(not isinstance(v, (dict, list)) for v in value):
            for item in value:
                out[(*path, ("v", json.dumps(item)))] = True
            if not value:
                out[path] = []
            return
        if key and key != SET and value and all(isinstance(v, dict) and key in v for v in value):
            for item in value:
                item_path = (*path, ("k", key, json.dumps(item[key])))
                out[(*item_path, ".")] = True
                for ikey, ivalue in item.items():
                    _leaves(ivalue, (*item_path, ikey), (*names, ikey), kind, out)
            return
        out[path] = value
        return
    out[path] = value


def path_text(path: Path) -> str:
    """A field path as the real server prints it in conflict messages: ``.spec.replicas``."""
    parts = []
    for seg in path:
        if isinstance(seg, tuple):
            if seg[0] == "k":
                parts.append(f"[{seg[1]}={json.loads(seg[2])}]")
            else:
                parts.append(f"[={json.loads(seg[1])}]")
        elif seg == ".":
            continue
        else:
            parts.append(f".{seg}")
    return "".join(parts)


def get_path(obj: Any, path: Path) -> tuple[bool, Any]:
    node = obj
    for seg in path:
        if seg == ".":
            return True, True
        if isinstance(seg, tuple):
            if not isinstance(node, list):
                return False, None
            if seg[0] == "k":
                match = [i for i in node if isinstance(i, dict) and json.dumps(i.get(seg[1])) == seg[2]]
                if not match:
                    return False, None
                node = match[0]
            else:
                return (json.loads(seg[1]) in node), True
        else:
            if not isinstance(node, dict) or seg not in node:
                return False, None
            node = node[seg]
    return True, node


def remove_path(obj: Any, path: Path) -> None:
    """Remove one leaf (or list item for an item marker) and then parents that became empty."""
    if path and path[-1] == ".":
        path = path[:-1]
    chain = []
    node = obj
    for seg in path[:-1]:
        chain.append((node, seg))
        found, node = _step(node, seg)
        if not found:
            return
    last = path[-1]
    if isinstance(last, tuple):
        if isinstance(node, list):
            if last[0] == "k":
                node[:] = [i for i in node if not (isinstance(i, dict) and json.dumps(i.get(last[1])) == last[2])]
            else:
                value = json.loads(last[1])
                node[:] = [i for i in node if i != value]
    elif isinstance(node, dict):
        node.pop(last, None)
    # prune emptied parents
    for parent, seg in reversed(chain):
        found, child = _step(parent, seg)
        if found and child in ({}, []):
            if isinstance(seg, tuple) and isinstance(parent, list):
                parent[:] = [i for i in parent if i is not child]
            elif isinstance(parent, dict):
                parent.pop(seg, None)
        else:
            break


def _step(node: Any, seg: Any) -> tuple[bool, Any]:
    if isinstance(seg, tuple):
        if not isinstance(node, list) or seg[0] != "k":
            return False, None
        for item in node:
            if isinstance(item, dict) and json.dumps(item.get(seg[1])) == seg[2]:
                return True, item
        return False, None
    if isinstance(node, dict) and seg in node:
        return True, node[seg]
    return False, None


def encode_fields(paths: set) -> list[str]:
    return sorted(path_text(p) for p in paths)


def serialize_paths(paths: set) -> list:
    return [json.loads(json.dumps(list(p))) for p in sorted(paths, key=repr)]


def deserialize_paths(items: list) -> set:
    def seg(s: Any) -> Any:
        return tuple(s) if isinstance(s, list) else s

    return {tuple(seg(s) for s in item) for item in items}
