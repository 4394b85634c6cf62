"""KubeFATE chart packages and how the KubeFATE server turns a cluster.yaml into Kubernetes objects.

The server (``k8s-deploy/pkg/service/config.go`` ``MapToConfig``) executes the chart's
``values-template.yaml`` as a Go text/template with the cluster.yaml as its root, parses the output as
YAML and hands it to Helm as user values over the chart's ``values.yaml``. Helm's own engine is the
same Go text/template with sprig and ``missingkey=zero``, so both stages are reproduced here with the
real Helm Go library (``helm-python-sdk``): a throwaway chart whose only template executes
``values-template.yaml`` with ``.Values`` bound to the cluster.yaml, then the real chart.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import yaml

#: Kinds the FATE charts render that built-in Kubernetes schemas do not cover; every other kind
#: without a schema is an error (removed APIs such as policy/v1beta1 PodSecurityPolicy included).
NON_BUILTIN_GROUPS = ("networking.istio.io",)
DEFAULT_KUBE_VERSION = "1.28.0"
WORKLOAD_KINDS = ("Deployment", "StatefulSet")

_helm_lock = threading.Lock()


class ChartError(Exception):
    """A chart package that cannot be read, or a cluster.yaml the chart cannot render."""


def shared_charts_dir() -> Path | None:
    """Where the packaged KubeFATE charts are, or None when they are not on this machine.

    ``KUBEFATE_CHARTS_DIR`` wins; otherwise the reference charts beside the project checkout.
    """
    env = os.environ.get("KUBEFATE_CHARTS_DIR")
    if env:
        return Path(env) if Path(env).is_dir() else None
    candidate = Path(__file__).resolve().parents[2].parent / "shared" / "kubefate" / "charts"
    return candidate if candidate.is_dir() else None


@dataclass
class ChartPackage:
    """A ``helm package`` archive as KubeFATE stores it (``modules.HelmChart``)."""

    name: str
    version: str
    app_version: str
    chart_yaml: str
    values: str
    values_template: str
    values_template_example: str
    templates: list[dict[str, str]] = field(repr=False)
    archive: bytes = field(repr=False)

    @classmethod
    def from_archive(cls, data: bytes) -> ChartPackage:
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
                files: dict[str, bytes] = {}
                for member in tar.getmembers():
                    if not member.isfile():
                        continue
                    parts = member.name.split("/", 1)
                    if len(parts) == 2:
                        handle = tar.extractfile(member)
                        if handle is not None:
                            files[parts[1]] = handle.read()
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise ChartError(f"not a helm chart archive: {exc}") from exc
        if "Chart.yaml" not in files:
            raise ChartError("not a helm chart archive: no Chart.yaml")
        meta = yaml.safe_load(files["Chart.yaml"]) or {}
        if not meta.get("name") or not meta.get("version"):
            raise ChartError("Chart.yaml has no name or version")

        def text(path: str) -> str:
            return files.get(path, b"").decode()

        templates = [
            {"name": path, "data": base64.b64encode(body).decode()}
            for path, body in sorted(files.items())
            if path.startswith("templates/")
        ]
        return cls(
            name=str(meta["name"]),
            version=str(meta["version"]),
            app_version=str(meta.get("appVersion", "")),
            chart_yaml=text("Chart.yaml"),
            values=text("values.yaml"),
            values_template=text("values-template.yaml"),
            values_template_example=text("values-template-example.yaml"),
            templates=templates,
            archive=data,
        )

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> ChartPackage:
        return cls.from_archive(Path(path).read_bytes())


def load_shared_charts(directory: Path | None = None) -> dict[tuple[str, str], ChartPackage]:
    """Every ``*.tgz`` chart package in ``directory`` keyed by (name, version)."""
    directory = directory or shared_charts_dir()
    if directory is None:
        return {}
    charts = {}
    for path in sorted(Path(directory).glob("*.tgz")):
        package = ChartPackage.from_file(path)
        charts[(package.name, package.version)] = package
    return charts


class Renderer:
    """Renders cluster.yaml specs through KubeFATE chart packages, caching the loaded charts."""

    def __init__(self) -> None:
        self._mappers: dict[tuple[str, str, str], object] = {}
        self._charts: dict[tuple[str, str, str], object] = {}
        self._tmp = tempfile.TemporaryDirectory(prefix="kubefate-vt-")

    def _helm(self):
        try:
            import helm_python  # noqa: PLC0415 - optional heavy dependency, loaded on first render
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ChartError("helm-python-sdk is not installed; cannot render charts") from exc
        return helm_python

    @staticmethod
    def _key(package: ChartPackage) -> tuple[str, str, str]:
        """Cache key: an uploaded chart may replace another with the same name and version."""
        return (package.name, package.version, hashlib.sha256(package.archive).hexdigest()[:16])

    def _mapper(self, package: ChartPackage):
        key = self._key(package)
        if key not in self._mappers:
            helm = self._helm()
            root = Path(self._tmp.name) / "-".join(key)
            (root / "templates").mkdir(parents=True, exist_ok=True)
            (root / "Chart.yaml").write_text("apiVersion: v2\nname: values-template\nversion: 0.0.0\n")
            (root / "templates" / "_vt.tpl").write_text(
                '{{- define "kubefate.values-template" -}}\n' + package.values_template + "\n{{- end -}}\n"
            )
            (root / "templates" / "values.yaml").write_text('{{ template "kubefate.values-template" .Values }}\n')
            self._mappers[key] = helm.Chart.load(str(root))
        return self._mappers[key]

    def _chart(self, package: ChartPackage):
        key = self._key(package)
        if key not in self._charts:
            self._charts[key] = self._helm().Chart.load_archive(package.archive)
        return self._charts[key]

    def values(self, package: ChartPackage, spec: dict) -> dict:
        """The Helm user values KubeFATE derives from ``spec`` through ``values-template.yaml``."""
        if not package.values_template.strip():
            raise ChartError(f"FateChart ValuesTemplate not exist ({package.name} {package.version})")
        with _helm_lock:
            try:
                out = self._mapper(package).render(spec, name="values-template", namespace="default")
            except Exception as exc:
                raise ChartError(f"values-template: {_short(exc)}") from exc
        text = next(iter(out.values()), "").replace("<no value>", "")
        try:
            values = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ChartError(f"values-template rendered invalid YAML: {exc}") from exc
        if not isinstance(values, dict):
            raise ChartError("values-template did not render a map")
        return values

    def render(self, package: ChartPackage, spec: dict, name: str, namespace: str) -> list[dict]:
        """All objects ``helm install`` would create for ``spec`` (NOTES.txt excluded)."""
        values = self.values(package, spec)
        with _helm_lock:
            try:
                out = self._chart(package).render(values, name=name, namespace=namespace, is_install=True)
            except Exception as exc:
                raise ChartError(_short(exc)) from exc
        objects = []
        for path in sorted(out):
            if path.endswith("NOTES.txt") or not path.endswith((".yaml", ".yml")):
                continue
            try:
                docs = list(yaml.safe_load_all(out[path]))
            except yaml.YAMLError as exc:
                raise ChartError(f"{path}: rendered invalid YAML: {exc}") from exc
            for doc in docs:
                if isinstance(doc, dict) and doc:
                    doc.setdefault("metadata", {}).setdefault("namespace", namespace)
                    objects.append(doc)
        return objects


def validate(objects: list[dict], kube_version: str = DEFAULT_KUBE_VERSION) -> list[str]:
    """Validate rendered objects with kubernetes-validate (strict); return one message per bad object."""
    import kubernetes_validate  # noqa: PLC0415 - optional heavy dependency

    errors = []
    for obj in objects:
        label = f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"
        try:
            kubernetes_validate.validate(obj, kube_version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            group = str(obj.get("apiVersion", "")).rpartition("/")[0]
            if group not in NON_BUILTIN_GROUPS:
                errors.append(f"{label}: no schema for {obj.get('apiVersion')} in Kubernetes {kube_version}")
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path)
            errors.append(f"{label}: {where}: {exc.message}" if where else f"{label}: {exc.message}")
        except kubernetes_validate.InvalidSchemaError as exc:  # pragma: no cover
            errors.append(f"{label}: {exc}")
    return errors


def workloads(objects: list[dict]) -> list[dict]:
    """The Deployments and StatefulSets among rendered objects: KubeFATE makes one sub-job per each."""
    return [o for o in objects if o.get("kind") in WORKLOAD_KINDS]


def _short(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0] if len(text) > 2000 else text
