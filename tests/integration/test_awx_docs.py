"""The AWX and execution-environment definitions in docs/, checked the way AWX and ansible-builder check them.

* ``docs/execution-environment.yml``: ansible-builder's own schema validation and ``ansible-builder create``;
  ``ansible-builder introspect`` on the collection must find its controller requirements (and no test tool).
* ``docs/awx/credential_type_kubefate.yml``: AWX's validation of a credential type (the JSON schemas and rules of
  ``awx/main/fields.py`` ``CredentialTypeInputField`` / ``CredentialTypeInjectorField``, AWX 24.6), its env names
  against the modules' env fallbacks, and AWX's injection (``CredentialType.inject_credential``) replayed to drive
  ``docs/awx/project/verify_federation.yml`` against the KubeFATE emulator.
* ``docs/awx/job_templates.yml``: AWX's survey validation (``JobTemplateSurveySpec._validate_spec_data``),
  run-level survey variables only, the ``awx import`` format as awxkit reads it, and playbooks that exist.

No AWX server runs here: the rules are transcribed from AWX's source, and each validator is shown to reject a
broken definition.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from ansible_collections.fateops.kubefate.plugins.module_utils import federation
from ansible_collections.fateops.kubefate.plugins.module_utils.common import CONNECTION_ARG_SPEC
from jinja2 import StrictUndefined, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
AWX = DOCS / "awx"
PROJECT = AWX / "project"
BIN = Path(sys.executable).parent
SHARED = ROOT.parent / "shared"

# ------------------------------------------------------------------------------------------------ AWX's rules
# awx/main/fields.py CredentialTypeInputField.schema (AWX 24.6)
INPUTS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "required": {"type": "array", "items": {"type": "string"}},
        "fields": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "type": {"enum": ["string", "boolean"]},
                    "format": {"enum": ["ssh_private_key", "url"]},
                    "choices": {"type": "array", "minItems": 1, "items": {"type": "string"}, "uniqueItems": True},
                    "id": {"type": "string", "pattern": "^[a-zA-Z_]+[a-zA-Z0-9_]*$"},
                    "label": {"type": "string"},
                    "help_text": {"type": "string"},
                    "multiline": {"type": "boolean"},
                    "secret": {"type": "boolean"},
                    "ask_at_runtime": {"type": "boolean"},
                    "default": {},
                },
                "additionalProperties": False,
                "required": ["id", "label"],
            },
        },
    },
}
# awx/main/fields.py CredentialTypeInjectorField.schema
INJECTORS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "file": {
            "type": "object",
            "patternProperties": {r"^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$": {"type": "string"}},
            "additionalProperties": False,
        },
        "env": {
            "type": "object",
            "patternProperties": {"^[a-zA-Z_]+[a-zA-Z0-9_]*$": {"type": "string", "pattern": "^[\x00-\x7f]*$"}},
            "additionalProperties": False,
        },
        "extra_vars": {
            "type": "object",
            "patternProperties": {r"^[a-zA-Z_\{\}]+[a-zA-Z0-9_\{\}]*$": {}},
            "additionalProperties": False,
        },
    },
}
# awx/main/constants.py ENV_BLOCKLIST
ENV_BLOCKLIST = frozenset(
    (
        "VIRTUAL_ENV",
        "PATH",
        "PYTHONPATH",
        "JOB_ID",
        "INVENTORY_ID",
        "INVENTORY_SOURCE_ID",
        "INVENTORY_UPDATE_ID",
        "AD_HOC_COMMAND_ID",
        "REST_API_URL",
        "REST_API_TOKEN",
        "MAX_EVENT_RES",
        "CALLBACK_QUEUE",
        "CALLBACK_CONNECTION",
        "CACHE",
        "JOB_CALLBACK_DEBUG",
        "INVENTORY_HOSTVARS",
        "AWX_HOST",
        "PROJECT_REVISION",
        "SUPERVISOR_CONFIG_PATH",
    )
)
# awx/main/constants.py SURVEY_TYPE_MAPPING
SURVEY_TYPES = {
    "text": str,
    "textarea": str,
    "password": str,
    "multiplechoice": str,
    "multiselect": str,
    "integer": int,
    "float": (float, int),
}
# Only these kinds can be created by users (awx/main/models/credential.py CredentialType.CUSTOM_KINDS... API)
CUSTOM_KINDS = ("cloud", "net")


def credential_type_errors(ct):
    """Every reason AWX would refuse this credential type (empty: accepted)."""
    errors = []
    if ct.get("kind") not in CUSTOM_KINDS:
        errors.append(f"kind {ct.get('kind')!r}: custom credential types are cloud or net")
    inputs, injectors = ct.get("inputs", {}), ct.get("injectors", {})
    errors += [f"inputs: {e.message}" for e in jsonschema.Draft4Validator(INPUTS_SCHEMA).iter_errors(inputs)]
    errors += [f"injectors: {e.message}" for e in jsonschema.Draft4Validator(INJECTORS_SCHEMA).iter_errors(injectors)]
    if errors:
        return errors
    ids = []
    for field in inputs.get("fields", []):
        kind = field.get("type", "string")
        if field["id"] == "tower" or field["id"] in ids:
            errors.append(f"field id {field['id']!r} is reserved or not unique")
        ids.append(field["id"])
        if "default" in field and not isinstance(field["default"], bool if kind == "boolean" else str):
            errors.append(f"{field['id']}: default {field['default']!r} is not a {kind}")
        for key in ("choices", "multiline", "format", "secret"):
            if key in field and kind != "string":
                errors.append(f"{field['id']}: {key} not allowed for {kind}")
    errors += [f"required {name!r} is not a field" for name in inputs.get("required", []) if name not in ids]
    for name in injectors.get("env", {}):
        if name.startswith("ANSIBLE_") or name in ENV_BLOCKLIST:
            errors.append(f"env {name}: not allowed in credentials")
    # Templates may only use defined fields (and tower.filename of the declared files).
    templates = list(injectors.get("file", {}))
    if "template" in templates and len(templates) > 1:
        return [*errors, "file: single and multi-file syntax mixed"]
    tower = type("Tower", (), {})()
    tower.filename = "EXAMPLE_FILENAME" if "template" in templates else type("Files", (), {})()
    for name in templates:
        if "." in name:
            setattr(tower.filename, name.split(".", 1)[1], "EXAMPLE_FILENAME")
    namespace = dict.fromkeys(ids, "EXAMPLE")
    namespace["tower"] = tower
    sandbox = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    for kind, injector in injectors.items():
        for key, template in injector.items():
            try:
                sandbox.from_string(template).render(namespace)
            except UndefinedError as exc:
                errors.append(f"{kind} {key}: uses an undefined field ({exc})")
    return errors


def inject(ct, inputs, private_dir):
    """The env AWX gives a job for a credential of this type (CredentialType.inject_credential, env and file)."""
    namespace = {}
    for name, value in inputs.items():
        if isinstance(value, bool) or len(value):
            namespace[name] = value
    for field in ct["inputs"]["fields"]:
        if field.get("type") == "boolean" and field["id"] not in inputs:
            namespace[field["id"]] = False  # AWX: a missing boolean is False
    sandbox = ImmutableSandboxedEnvironment()
    tower = type("Tower", (), {})()
    tower.filename = type("Files", (), {})()
    for label, template in ct["injectors"].get("file", {}).items():
        path = private_dir / f"cred-{label}"
        path.write_text(sandbox.from_string(template).render(**namespace))
        setattr(tower.filename, label.split(".", 1)[1], str(path))
    namespace["tower"] = tower
    return {name: sandbox.from_string(t).render(**namespace) for name, t in ct["injectors"].get("env", {}).items()}


def survey_errors(survey):
    """Every reason AWX would refuse this survey spec (awx/api/views JobTemplateSurveySpec._validate_spec_data)."""
    errors = []
    for key, kind in (("name", str), ("description", str), ("spec", list)):
        if not isinstance(survey.get(key), kind):
            errors.append(f"{key}: missing or not a {kind.__name__}")
    if errors or not survey["spec"]:
        return errors or ["spec: no questions"]
    seen = set()
    for index, item in enumerate(survey["spec"]):
        for key, kind in (("type", str), ("question_name", str), ("variable", str), ("required", bool)):
            if not isinstance(item.get(key), kind):
                errors.append(f"question {index}: {key} missing or not a {kind.__name__}")
        if item.get("variable") in seen:
            errors.append(f"question {index}: variable {item['variable']} repeated")
        seen.add(item.get("variable"))
        qtype = item.get("type")
        if qtype not in SURVEY_TYPES:
            errors.append(f"question {index}: type {qtype!r} unknown")
            continue
        if item.get("default", "") != "" and not isinstance(item["default"], SURVEY_TYPES[qtype]):
            errors.append(f"question {index}: default of the wrong type")
        for key in ("min", "max"):
            if item.get(key) is not None and not isinstance(item[key], int):
                errors.append(f"question {index}: {key} not an integer")
        if qtype in ("multiplechoice", "multiselect"):
            if "choices" not in item:
                errors.append(f"question {index}: {qtype} without choices")
            elif "default" in item and item["default"] not in item["choices"]:
                errors.append(f"question {index}: default not among the choices")
    return errors


# ------------------------------------------------------------------------------------------------ fixtures
def load(path):
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def credential_type():
    (ct,) = load(AWX / "credential_type_kubefate.yml")["credential_types"]
    return ct


@pytest.fixture(scope="module")
def assets():
    return load(AWX / "job_templates.yml")


# ------------------------------------------------------------------------------------------------ EE
def test_execution_environment_passes_ansible_builder_schema():
    from ansible_builder.ee_schema import validate_schema
    from ansible_builder.exceptions import DefinitionError

    definition = load(DOCS / "execution-environment.yml")
    validate_schema(copy.deepcopy(definition))
    assert definition["version"] == 3
    deps = definition["dependencies"]
    assert {"ansible_core", "ansible_runner", "galaxy", "python_interpreter"} <= set(deps)
    galaxy = load(ROOT / "galaxy.yml")
    wanted = {c["name"]: c["version"] for c in deps["galaxy"]["collections"]}
    assert wanted == {"fateops.kubefate": ">=1.0.0,<2.0.0", **galaxy["dependencies"]}
    broken = copy.deepcopy(definition)
    broken["dependencies"]["ansible_core"] = "ansible-core"  # v3 wants {package_pip: ...}
    with pytest.raises(DefinitionError):
        validate_schema(broken)


def test_ansible_builder_creates_the_build_context(tmp_path):
    result = subprocess.run(
        [str(BIN / "ansible-builder"), "create", "-f", str(DOCS / "execution-environment.yml"), "-c", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The collection and every collection it depends on (galaxy.yml), none other.
    assert {c["name"] for c in load(tmp_path / "_build" / "requirements.yml")["collections"]} == {
        "fateops.kubefate",
        "kubernetes.core",
        *load(ROOT / "galaxy.yml")["dependencies"],
    }


def test_introspect_finds_the_controller_requirements_and_no_test_tool(tmp_path):
    from ansible_builder._target_scripts.introspect import EXCLUDE_REQUIREMENTS

    link = tmp_path / "ansible_collections" / "fateops"
    link.mkdir(parents=True)
    (link / "kubefate").symlink_to(ROOT)
    result = subprocess.run(
        [str(BIN / "ansible-builder"), "introspect", "--sanitize", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found = {}
    for line in load_introspection(result.stdout)["python"]:
        requirement, origin = [*line.split("#", 1), ""][:2]
        found[re.split(r"[<>=!~ \[]", requirement.strip())[0].lower()] = origin.strip()
    assert load(ROOT / "meta" / "execution-environment.yml")["dependencies"] == {"python": "requirements.txt"}
    ours = {name for name in requirement_names(ROOT / "requirements.txt") if name not in EXCLUDE_REQUIREMENTS}
    assert ours and ours <= set(found)
    assert all(found[name] == "from collection fateops.kubefate" for name in ours)
    test_only = requirement_names(ROOT / "test-requirements.txt") - requirement_names(ROOT / "requirements.txt")
    assert not test_only & set(found), "test tools leak into execution environments"


def load_introspection(text):
    return yaml.safe_load(text[text.index("---") :])


def requirement_names(path):
    names = set()
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[<>=!~ \[;]", line)[0].lower())
    return names


# ------------------------------------------------------------------------------------------------ credential type
def test_credential_type_is_accepted_by_awx_rules(credential_type):
    assert credential_type["name"] == "KubeFATE API"
    assert credential_type_errors(credential_type) == []
    assert credential_type["natural_key"] == {"name": "KubeFATE API", "kind": "cloud", "type": "credential_type"}


@pytest.mark.parametrize(
    "breakage",
    [
        lambda ct: ct["injectors"]["env"].update(KUBEFATE_TOKEN="{{ kubefate_token }}"),
        lambda ct: ct["injectors"]["env"].update(ANSIBLE_CONFIG="/tmp/x.cfg"),
        lambda ct: ct["inputs"]["fields"][4].update(secret=True),
        lambda ct: ct["inputs"]["required"].append("kubefate_api_key"),
        lambda ct: ct["injectors"]["file"].update(template="{{ kubefate_ca_cert }}"),
        lambda ct: ct.update(kind="kubernetes"),
    ],
    ids=["undefined-field", "ansible-env", "secret-boolean", "unknown-required", "mixed-file-syntax", "kind"],
)
def test_awx_rules_reject_a_broken_credential_type(credential_type, breakage):
    broken = copy.deepcopy(credential_type)
    breakage(broken)
    assert credential_type_errors(broken)


def test_injected_env_is_exactly_what_the_modules_read(credential_type):
    env_of = {option: spec["fallback"][1][0] for option, spec in CONNECTION_ARG_SPEC.items()}
    credentials = ("url", "username", "password", "host_header", "validate_certs", "ca_path")
    injected = set(credential_type["injectors"]["env"])
    assert injected == {env_of[option] for option in credentials}
    # request_timeout and retry_timeout are tuning, not credentials: not injected (an empty one would not parse).
    assert set(env_of) - set(credentials) == {"request_timeout", "retry_timeout"}
    fields = {f["id"]: f for f in credential_type["inputs"]["fields"]}
    assert fields["kubefate_password"].get("secret") is True and CONNECTION_ARG_SPEC["password"]["no_log"] is True
    assert fields["kubefate_validate_certs"]["type"] == "boolean"
    assert "kubefate_validate_certs" in credential_type["inputs"]["required"]  # never off because it was omitted
    fragment = (ROOT / "plugins" / "doc_fragments" / "connection.py").read_text()
    assert all(f"E({name})" in fragment for name in injected)


def test_injection_as_awx_does_it(credential_type, tmp_path):
    full = inject(
        credential_type,
        {
            "kubefate_url": "https://kubefate.example.com",
            "kubefate_username": "admin",
            "kubefate_password": "s3cret",
            "kubefate_host_header": "kubefate.dc1.example.com",
            "kubefate_validate_certs": True,
            "kubefate_ca_cert": "-----BEGIN CERTIFICATE-----\n",
        },
        tmp_path,
    )
    assert full["KUBEFATE_VALIDATE_CERTS"] == "True"
    assert Path(full["KUBEFATE_CA_PATH"]).read_text() == "-----BEGIN CERTIFICATE-----\n"
    minimal = inject(
        credential_type,
        {"kubefate_url": "http://10.0.0.5:31080", "kubefate_username": "admin", "kubefate_password": "s3cret"},
        tmp_path,
    )
    # Empty optional fields give empty variables, which the modules treat as unset.
    assert minimal["KUBEFATE_HOST_HEADER"] == "" and minimal["KUBEFATE_CA_PATH"] == ""
    assert minimal["KUBEFATE_VALIDATE_CERTS"] == "False"  # hence the field is required


@pytest.mark.skipif(not (SHARED / "kubefate").is_dir(), reason="reference KubeFATE charts (../shared) absent")
def test_injected_credential_drives_the_verify_playbook(credential_type, tmp_path):
    from kubefate_emulator.testing import run_emulator

    cluster = (SHARED / "kubefate" / "examples" / "v1.11.2" / "cluster.yaml").read_text()
    with run_emulator("--job-seconds", "1", "--module-spread", "0.2", password="awx-test") as emu:
        env = inject(
            credential_type,
            {
                "kubefate_url": emu.url,
                "kubefate_username": "admin",
                "kubefate_password": "awx-test",
                "kubefate_validate_certs": True,
            },
            tmp_path,
        )
        status, body = emu.install(cluster)
        assert status == 200, body
        name = yaml.safe_load(cluster)["name"]
        summary = [{"cluster": name, "kube_cluster": "dc1"}, {"cluster": "fate-10000", "kube_cluster": "dc2"}]
        emu.wait_job(body["data"]["uuid"])
        ok = run_verify(tmp_path, env, {"fate_federation_summary": summary, "fate_verify_kube_cluster": "dc1"})
        assert ok.returncode == 0, ok.stdout[-3000:]
        assert "all 1 cluster(s) Running on " + emu.url in ok.stdout
        missing = run_verify(tmp_path, env, {"fate_federation_summary": summary})
        assert missing.returncode != 0
        assert "unknown to this KubeFATE server: fate-10000" in missing.stdout


def run_verify(tmp, env, extra):
    (tmp / "extra.yml").write_text(yaml.safe_dump(extra))
    environment = dict(os.environ)
    environment.update(env)
    environment.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_LOCAL_TEMP=str(tmp),
        ANSIBLE_NOCOLOR="1",
        TMPDIR=str(tmp),
    )
    return subprocess.run(
        [str(BIN / "ansible-playbook"), str(PROJECT / "verify_federation.yml"), "-e", f"@{tmp / 'extra.yml'}"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# ------------------------------------------------------------------------------------------------ job templates
RUN_LEVEL = {
    "fate_version",
    "fate_chart_version",
    "fate_serving_chart_version",
    "fate_exchange_chart_version",
    "fate_wait_timeout",
    "fate_wait_sleep",
    "fate_render_dir",
}


# The day-2 templates ask for the run-time variables of their own playbook (docs/day2.md), nothing else.
DAY2_SURVEYS = {
    "FATE federation | delete": (
        "delete_federation",
        {"fate_delete_confirm", "fate_delete_namespaces", "fate_delete_servers"},
    ),
    "FATE federation | remove party": ("remove_party", {"fate_remove_party"}),
    "FATE federation | collect logs": ("collect_logs", {"fate_logs_tail", "fate_logs_since", "fate_logs_previous"}),
}
# Templates and the workflow that ask the run-level survey of deploy_federation.
RUN_SURVEYS = {
    "FATE federation | deploy",
    "FATE federation | check",
    "FATE federation | validate inventory",
    "FATE federation | upgrade",
    "FATE federation | validate, deploy, verify",
}
DEPLOY_CREDENTIALS = {"KubeFATE API", "OpenShift or Kubernetes API Bearer Token", "Vault"}


def surveys(assets):
    for kind in ("job_templates", "workflow_job_templates"):
        for template in assets[kind]:
            if template.get("survey_enabled"):
                yield template["name"], template["related"]["survey_spec"]


def test_day2_surveys_ask_their_playbook_variables_only(assets):
    found = dict(surveys(assets))
    assert set(found) == RUN_SURVEYS | set(DAY2_SURVEYS)
    for name, (playbook, variables) in DAY2_SURVEYS.items():
        survey = found[name]
        assert survey_errors(survey) == [], name
        questions = {q["variable"]: q for q in survey["spec"]}
        assert set(questions) == variables, name
        text = (ROOT / "playbooks" / f"{playbook}.yml").read_text()
        for variable, question in questions.items():
            assert variable in federation.PLAYBOOK_VARIABLES, f"{name}: {variable}"
            assert variable in text, f"{name}: {playbook} does not read {variable}"
            assert question["required"] or "default" not in question, f"{name}: {variable}"
            if question["type"] == "multiplechoice":  # an on/off switch, read with | bool
                assert question["choices"] == ["false", "true"] and not question["required"], f"{name}: {variable}"
    # Nothing is deleted by omission or by a default: the confirmation is asked every time, without a default.
    (confirm,) = [q for q in found["FATE federation | delete"]["spec"] if q["variable"] == "fate_delete_confirm"]
    assert confirm["type"] == "text" and confirm["required"] is True and "default" not in confirm
    (party,) = found["FATE federation | remove party"]["spec"]
    assert party["type"] == "integer" and party["required"] is True and "default" not in party


def test_surveys_are_accepted_and_hold_run_level_variables_only(assets):
    found = [(name, survey) for name, survey in surveys(assets) if name in RUN_SURVEYS]
    assert len(found) == len(RUN_SURVEYS)
    for name, survey in found:
        assert survey_errors(survey) == [], name
        for question in survey["spec"]:
            variable = question["variable"]
            assert variable in RUN_LEVEL, f"{name}: {variable} is per-party configuration; keep it in the inventory"
            assert variable in federation.KNOWN_VARIABLES | federation.PLAYBOOK_VARIABLES
            # An optional question with a default would send it on every launch, over the inventory's value.
            assert question["required"] or "default" not in question, f"{name}: {variable}"
        choices = {q["variable"]: q.get("choices") for q in survey["spec"]}
        assert choices["fate_version"] == list(federation.FATE_VERSIONS)
        assert choices["fate_serving_chart_version"] == list(federation.KNOWN_CHART_VERSIONS["fate-serving"])
        assert choices["fate_exchange_chart_version"] == list(federation.KNOWN_CHART_VERSIONS["fate-exchange"])


@pytest.mark.parametrize(
    "breakage",
    [
        lambda s: s["spec"][0].pop("choices"),
        lambda s: s["spec"][0].update(type="select"),
        lambda s: s["spec"][1].update(variable="fate_version"),
        lambda s: s["spec"][3].update(default="4200"),
        lambda s: s.pop("description"),
    ],
    ids=["no-choices", "bad-type", "repeated-variable", "default-type", "no-description"],
)
def test_awx_rules_reject_a_broken_survey(assets, breakage):
    survey = copy.deepcopy(assets["job_templates"][0]["related"]["survey_spec"])
    breakage(survey)
    assert survey_errors(survey)


def test_job_templates_prompt_for_nothing_but_limit_tags_and_survey(assets):
    templates = {t["name"]: t for t in assets["job_templates"]}
    assert set(templates) == {
        "FATE federation | deploy",
        "FATE federation | check",
        "FATE federation | validate inventory",
        "FATE federation | verify",
        "FATE federation | upgrade",
        "FATE federation | delete",
        "FATE federation | remove party",
        "FATE federation | collect logs",
    }
    assert templates["FATE federation | check"]["job_type"] == "check"
    assert templates["FATE federation | check"]["diff_mode"] is True
    for name, template in templates.items():
        assert template.get("ask_variables_on_launch") is False, name
        assert not template.get("ask_credential_on_launch") and not template.get("ask_inventory_on_launch"), name
        extra = yaml.safe_load(template["extra_vars"]) or {}
        assert set(extra) <= RUN_LEVEL, name
        kinds = [c["credential_type"]["kind"] for c in template["related"]["credentials"]]
        assert len(kinds) == len(set(kinds)), f"{name}: AWX takes one credential per type"
    deploy = templates["FATE federation | deploy"]["related"]["credentials"]
    assert {c["credential_type"]["name"] for c in deploy} == DEPLOY_CREDENTIALS
    # The day-2 playbooks and verify_federation (toy test through kubernetes.core.k8s_exec) reach KubeFATE and
    # Kubernetes and read the whole inventory, vault-encrypted values included.
    for name in ("verify", "upgrade", "delete", "remove party", "collect logs"):
        credentials = templates[f"FATE federation | {name}"]["related"]["credentials"]
        assert {c["credential_type"]["name"] for c in credentials} == DEPLOY_CREDENTIALS, name
    # Two runs that change one federation would race on the same KubeFATE clusters.
    for name in ("deploy", "upgrade", "delete", "remove party"):
        assert templates[f"FATE federation | {name}"]["allow_simultaneous"] is False, name
    upgrade = templates["FATE federation | upgrade"]
    assert upgrade["playbook"] == "upgrade_federation.yml" and upgrade["job_type"] == "run"
    assert upgrade["ask_limit_on_launch"] is True
    assert upgrade["related"]["survey_spec"] == templates["FATE federation | deploy"]["related"]["survey_spec"]


def test_playbooks_exist_in_the_project_and_awx_lists_them(assets):
    # awx/main/utils/ansible.py valid_playbook_re: what AWX offers as a playbook of a project
    valid_playbook = re.compile(
        r"^\s*?-?\s*?(?:hosts|(ansible\.builtin\.)?include|(ansible\.builtin\.)?import_playbook):\s*?.*?$"
    )
    for template in assets["job_templates"]:
        path = PROJECT / template["playbook"]
        assert path.is_file(), template["playbook"]
        assert any(valid_playbook.match(line) for line in path.read_text().splitlines()), path.name
        assert "vars_prompt" not in path.read_text() and "pause:" not in path.read_text()
    wrapped = {p.stem for p in PROJECT.glob("*.yml") if "import_playbook: fateops.kubefate." in p.read_text()}
    assert wrapped == {p.stem for p in (ROOT / "playbooks").glob("*.yml")}
    requirements = {c["name"] for c in load(PROJECT / "collections" / "requirements.yml")["collections"]}
    assert requirements == {"fateops.kubefate", "kubernetes.core"}


def test_assets_are_in_the_awx_import_format(assets, credential_type):
    awxkit_api = pytest.importorskip("awxkit.api.pages.api")
    from awxkit.api import pages
    from awxkit.api.resources import resources
    from awxkit.yaml_file import Loader

    # `awx import -f yaml` reads with awxkit's own loader
    with (AWX / "job_templates.yml").open() as stream:
        assert yaml.load(stream, Loader=Loader) == assets
    assert set(assets) <= set(awxkit_api.EXPORTABLE_RESOURCES)
    natural_keys = {
        "credential_type": pages.CredentialType.NATURAL_KEY,
        "credential": pages.Credential.NATURAL_KEY,
        "execution_environment": pages.ExecutionEnvironment.NATURAL_KEY,
        "project": pages.Project.NATURAL_KEY,
        "inventory": pages.Inventory.NATURAL_KEY,
        "inventory_source": pages.InventorySource.NATURAL_KEY,
        "job_template": pages.JobTemplate.NATURAL_KEY,
        "workflow_job_template": pages.WorkflowJobTemplate.NATURAL_KEY,
        "workflow_job_template_node": pages.WorkflowJobTemplateNode.NATURAL_KEY,
        "organization": pages.Organization.NATURAL_KEY,
    }
    defined = set()

    def check(key):
        """A natural key has the fields awxkit matches on (an inventory source has no organization)."""
        kind = key["type"]
        assert getattr(resources, kind, None), kind
        assert set(key) - {"type"} <= set(natural_keys[kind]), key
        for value in key.values():
            if isinstance(value, dict):
                check(value)
        return yaml.safe_dump(key, sort_keys=True)

    for asset in [credential_type, *(a for kind in assets.values() for a in kind)]:
        defined.add(check(asset["natural_key"]))
    for node in assets["workflow_job_templates"][0]["related"]["workflow_nodes"]:
        defined.add(check(node["natural_key"]))
    referenced = set()
    for template in [*assets["job_templates"], *assets["inventory_sources"]]:
        for key in ("inventory", "project", "execution_environment", "source_project"):
            if key in template:
                referenced.add(check(template[key]))
        for credential in template["related"]["credentials"]:
            check(credential)  # credentials hold secrets: created by hand, documented in docs/awx.md
    for node in assets["workflow_job_templates"][0]["related"]["workflow_nodes"]:
        referenced.add(check(node["unified_job_template"]))
        for successor in node["related"]["success_nodes"]:
            referenced.add(check(successor))
    assert referenced <= defined, referenced - defined


def test_awx_guide_names_every_tag_of_deploy_federation():
    tags = set()
    for play in load(ROOT / "playbooks" / "deploy_federation.yml"):
        tags.update(play.get("tags", []))
        for task in play.get("tasks", []):
            tags.update(task.get("tags", []))
    sentence = re.search(r"\*\*Tags\*\* select phases:(.*?);", (DOCS / "awx.md").read_text(), flags=re.S).group(1)
    assert set(re.findall(r"`(\w+)`", sentence)) == tags - {"always"}
