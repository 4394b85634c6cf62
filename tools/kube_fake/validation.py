"""Object validation: kubernetes-validate's JSON schemas (when installed) plus object-name rules.

Errors become a 422 Invalid Status with one cause per error; unknown fields (found with the strict schemas)
become ``Warning`` headers, like the real server's default ``fieldValidation=Warn``.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

try:  # optional: without it only names are checked
    import jsonschema
    import kubernetes_validate
    from kubernetes_validate.utils import schema_contents
    from referencing import Registry, Resource

    HAVE_SCHEMAS = True
except ImportError:  # pragma: no cover - depends on the interpreter
    HAVE_SCHEMAS = False

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME_KINDS = {"Namespace", "Service"}
#: kinds whose names are path segments only (RBAC allows anything but '/', '%', '.' and '..')
_PATH_SEGMENT_KINDS = {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}


class Cause(dict):
    """One entry of Status.details.causes."""

    def __init__(self, reason: str, field: str, message: str):
        super().__init__(reason=reason, message=message, field=field)


def field_path(path: Any) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _quote(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (dict, list)):
        return "{...}" if isinstance(value, dict) else "[...]"
    return json.dumps(value)


def name_causes(kind: str, name: str | None, generate_name: str | None = None) -> list[Cause]:
    if not name:
        if generate_name:
            return []
        return [
            Cause(
                "FieldValueRequired", "metadata.name", "metadata.name: Required value: name or generateName is required"
            )
        ]
    if kind in _PATH_SEGMENT_KINDS:
        if name in (".", "..") or "/" in name or "%" in name:
            return [
                Cause(
                    "FieldValueInvalid",
                    "metadata.name",
                    f"metadata.name: Invalid value: \"{name}\": may not contain '/' or '%'",
                )
            ]
        return []
    if kind in _LABEL_NAME_KINDS:
        if len(name) > 63 or not _DNS_LABEL.match(name):
            message = (
                f'metadata.name: Invalid value: "{name}": a lowercase RFC 1123 label must consist of lower case '
                "alphanumeric characters or '-', and must start and end with an alphanumeric character "
                "(e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
            )
            return [Cause("FieldValueInvalid", "metadata.name", message)]
        return []
    if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        message = (
            f'metadata.name: Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case '
            "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
            "'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        )
        return [Cause("FieldValueInvalid", "metadata.name", message)]
    return []


class SchemaValidator:
    """Validates objects against kubernetes-validate's schemas for one Kubernetes version."""

    def __init__(self, kube_version: str = "1.28.0", enabled: bool = True):
        self.kube_version = kube_version
        self.enabled = enabled and HAVE_SCHEMAS
        self._cache: dict[tuple[str, str, bool], Any] = {}
        self._lock = threading.Lock()
        self._defs: dict[bool, Any] = {}
        self._schema_dir = ""
        if self.enabled:
            wanted = _major_minor(kube_version)
            versions = [v for v in kubernetes_validate.utils.all_versions() if _major_minor(v) <= wanted]
            if not versions:
                self.enabled = False
            else:
                self._schema_dir = f"v{versions[-1]}-local"

    def _validator(self, kind: str, api_version: str, strict: bool) -> Any:
        key = (kind, api_version, strict)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            directory = self._schema_dir + ("-strict" if strict else "")
            short = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
            try:
                schema = schema_contents(
                    f"kubernetes-json-schema/{directory}/{kind.lower()}-{short}.json", self.kube_version
                )
            except (FileNotFoundError, OSError):
                self._cache[key] = None
                return None
            if strict not in self._defs:
                self._defs[strict] = schema_contents(
                    f"kubernetes-json-schema/{directory}/_definitions.json", self.kube_version
                )
            registry = Resource.from_contents(schema) @ Registry()
            registry = Resource.from_contents(self._defs[strict]) @ registry
            validator = jsonschema.validators.Draft202012Validator(schema, registry=registry)
            self._cache[key] = validator
            return validator

    def has_schema(self, kind: str, api_version: str) -> bool:
        return self.enabled and self._validator(kind, api_version, False) is not None

    def validate(self, obj: dict) -> tuple[list[Cause], list[str]]:
        """(causes of errors, unknown field paths)."""
        if not self.enabled:
            return [], []
        kind, api_version = obj.get("kind", ""), obj.get("apiVersion", "")
        validator = self._validator(kind, api_version, False)
        if validator is None:
            return [], []
        causes = []
        for error in sorted(validator.iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path]):
            causes.append(_cause(error))
        unknown: list[str] = []
        strict = self._validator(kind, api_version, True)
        if strict is not None:
            for error in strict.iter_errors(obj):
                if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
                    continue
                known = set((error.schema or {}).get("properties") or {})
                for extra in sorted(set(error.instance) - known):
                    unknown.append(field_path([*error.absolute_path, extra]))
        return causes, unknown


def _cause(error: Any) -> Cause:
    path = list(error.absolute_path)
    if error.validator == "required":
        match = re.match(r"^'(.*)' is a required property$", error.message)
        missing = match.group(1) if match else "?"
        field = field_path([*path, missing])
        return Cause("FieldValueRequired", field, f"{field}: Required value")
    field = field_path(path)
    if error.validator == "enum":
        allowed = ", ".join(_quote(v) for v in error.validator_value if v is not None)
        return Cause(
            "FieldValueNotSupported",
            field,
            f"{field}: Unsupported value: {_quote(error.instance)}: supported values: {allowed}",
        )
    return Cause("FieldValueInvalid", field, f"{field}: Invalid value: {_quote(error.instance)}: {error.message}")


def _major_minor(version: str) -> tuple[int, int]:
    version = version.lstrip("v")
    parts = version.split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return (0, 0)
