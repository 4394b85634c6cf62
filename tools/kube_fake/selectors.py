"""Label selectors (``a=b,c!=d,e in (f,g),h notin (i),j,!k``) and field selectors (``metadata.name=x``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Predicate = Callable[[dict], bool]


class SelectorError(ValueError):
    pass


def _split_top(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


_SET = re.compile(r"^(?P<key>[^\s!=<>()]+)\s+(?P<op>in|notin)\s*\((?P<values>[^)]*)\)$")
_CMP = re.compile(r"^(?P<key>[^\s!=<>()]+)\s*(?P<op>==|=|!=|<|>)\s*(?P<value>[^\s,()]*)$")
_EXISTS = re.compile(r"^(?P<neg>!?)\s*(?P<key>[^\s!=<>()]+)$")


def parse_label_selector(text: str | None) -> Predicate:
    """A predicate over labels dicts; raises SelectorError on syntax errors (the server answers 400)."""
    if not text:
        return lambda labels: True
    tests: list[Predicate] = []
    for requirement in _split_top(text):
        if m := _SET.match(requirement):
            key, values = m.group("key"), {v.strip() for v in m.group("values").split(",") if v.strip()}
            if m.group("op") == "in":
                tests.append(lambda labels, k=key, vs=values: k in labels and labels[k] in vs)
            else:
                tests.append(lambda labels, k=key, vs=values: k not in labels or labels[k] not in vs)
        elif m := _CMP.match(requirement):
            key, op, value = m.group("key"), m.group("op"), m.group("value")
            if op in ("=", "=="):
                tests.append(lambda labels, k=key, v=value: labels.get(k) == v)
            elif op == "!=":
                tests.append(lambda labels, k=key, v=value: labels.get(k) != v)
            else:
                try:
                    number = int(value)
                except ValueError as exc:
                    raise SelectorError(
                        f"unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer: {value}"
                    ) from exc
                tests.append(_compare(key, op, number))
        elif m := _EXISTS.match(requirement):
            key = m.group("key")
            if m.group("neg"):
                tests.append(lambda labels, k=key: k not in labels)
            else:
                tests.append(lambda labels, k=key: k in labels)
        else:
            raise SelectorError(f"unable to parse requirement: {requirement!r}")
    return lambda labels: all(test(labels or {}) for test in tests)


def _compare(key: str, op: str, number: int) -> Predicate:
    def test(labels: dict) -> bool:
        try:
            value = int(labels[key])
        except (KeyError, ValueError):
            return False
        return value > number if op == ">" else value < number

    return test


#: Field selectors the real server supports beyond metadata.name and metadata.namespace, per kind.
FIELD_LABELS: dict[str, set[str]] = {
    "Pod": {
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    },
    "Secret": {"type"},
    "Event": {
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    },
    "Namespace": {"status.phase"},
    "Node": {"spec.unschedulable"},
    "Job": {"status.successful"},
    "ReplicaSet": {"status.replicas"},
    "ReplicationController": {"status.replicas"},
    "PersistentVolume": {"spec.storageClassName"},
    "CertificateSigningRequest": {"spec.signerName"},
}


def _field_value(obj: dict, dotted: str) -> str:
    node: Any = obj
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, bool):
        return "true" if node else "false"
    if node is None:
        return ""
    return str(node)


def parse_field_selector(text: str | None, kind: str) -> Predicate:
    if not text:
        return lambda obj: True
    allowed = {"metadata.name", "metadata.namespace"} | FIELD_LABELS.get(kind, set())
    tests: list[Predicate] = []
    for requirement in _split_top(text):
        m = re.match(r"^([^!=\s]+)\s*(==|=|!=)\s*(.*)$", requirement)
        if not m:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{requirement}'")
        field, op, value = m.group(1), m.group(2), m.group(3).strip()
        if field not in allowed:
            raise SelectorError(f'"{field}" is not a known field selector: only "metadata.name", "metadata.namespace"')
        if op == "!=":
            tests.append(lambda obj, f=field, v=value: _field_value(obj, f) != v)
        else:
            tests.append(lambda obj, f=field, v=value: _field_value(obj, f) == v)
    return lambda obj: all(test(obj) for test in tests)
