"""`ansible-playbook fateops.kubefate.render_federation` on the shipped inventories and on broken ones.

Runs the real ansible-playbook of the interpreter running the tests, against this checkout linked as the
collection in a private collections path, with a private TMPDIR and ANSIBLE_HOME.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
ANSIBLE_VAULT = Path(sys.executable).parent / "ansible-vault"

pytestmark = pytest.mark.skipif(
    not ANSIBLE_PLAYBOOK.exists(), reason=f"ansible-playbook not installed beside {sys.executable}"
)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    base = tmp_path_factory.mktemp("ansible")
    collections = base / "collections" / "ansible_collections" / "fateops"
    collections.mkdir(parents=True)
    (collections / "kubefate").symlink_to(ROOT)
    (base / "tmp").mkdir()
    environment = dict(os.environ)
    environment.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(base / "collections"),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_HOME=str(base / "home"),
        ANSIBLE_LOCAL_TEMP=str(base / "tmp"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        TMPDIR=str(base / "tmp"),
    )
    return environment


def run(env, inventory, out_dir, *extra):
    command = [
        str(ANSIBLE_PLAYBOOK),
        "fateops.kubefate.render_federation",
        "-i",
        str(inventory),
        "-e",
        f"fate_render_dir={out_dir}",
        *extra,
    ]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def inventory_hosts(env, inventory):
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(inventory), "--list"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    import json

    return set(json.loads(result.stdout)["_meta"]["hostvars"])


def render_with_charts(files):
    """Every written file through the real chart (skipped when the reference charts are absent)."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import helm_python  # noqa: F401 - availability check
        import kubernetes_validate  # noqa: F401 - availability check
        from kubefate_emulator.charts import Renderer, load_shared_charts, validate
    except ImportError:
        return 0
    finally:
        sys.path.remove(str(ROOT / "tools"))
    charts = load_shared_charts()
    if not charts:
        return 0
    renderer = Renderer()
    for path in files:
        spec = yaml.safe_load(path.read_text())
        objects = renderer.render(
            charts[(spec["chartName"], spec["chartVersion"])], spec, spec["name"], spec["namespace"]
        )
        assert validate(objects) == [], path.name
    return len(files)


@pytest.mark.parametrize("name", ["example", "sandbox"])
def test_shipped_inventories_render(env, tmp_path, name):
    inventory = ROOT / "inventories" / name
    out = tmp_path / "out"
    result = run(env, inventory, out)
    assert result.returncode == 0, result.stdout + result.stderr
    hosts = inventory_hosts(env, inventory)
    files = sorted(out.glob("*"))
    assert {f.name for f in files} == {f"{h}.yaml" for h in hosts}
    for path in files:
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        spec = yaml.safe_load(path.read_text())
        assert spec["name"] and spec["namespace"] and spec["chartName"] and spec["chartVersion"]
        assert isinstance(spec["partyId"], int) and isinstance(spec["modules"], list)
    render_with_charts(files)
    if name == "example":
        party = yaml.safe_load((out / "fate-9999.yaml").read_text())
        assert party["mysql"]["password"] == "change-me-mysql-9999"  # from the (example) vault file
        assert party["pulsar"]["exchange"] == {"ip": "10.10.0.5", "port": 30000, "domain": "fate.org"}
        exchange = yaml.safe_load((out / "fate-exchange.yaml").read_text())
        assert {e["fqdn"]: e["tunnelRoute"] for e in exchange["trafficServer"]["route_table"]["sni"]} == {
            "9999.fate.org": "10.10.9.11:30999",
            "10000.fate.org": "203.0.113.10:6651",
        }
    else:
        party = yaml.safe_load((out / "sandbox-fate-10000.yaml").read_text())
        assert party["osx"]["partyList"] == [{"partyId": 9999, "partyIp": "127.0.0.1", "partyPort": 30000}]
        assert party["nodemanager"]["replicas"] == 1
        assert "osx ignores osx.exchange" in result.stdout  # the star-mode warning is printed


def test_bad_inventory_fails_before_writing(env, tmp_path):
    inventory = tmp_path / "bad.yml"
    inventory.write_text(
        textwrap.dedent(
            """\
            all:
              vars:
                ansible_connection: local
              children:
                broken:
                  vars:
                    fate_federation: broken
                    fate_topology: star
                    fate_version: "2.0.0"
                  children:
                    party_a:
                      vars: {fate_party_id: 9999, fate_access: {address: 10.0.0.1}}
                      hosts: {a-fate: {}}
                    party_b:
                      vars: {fate_party_id: 9999, fate_namespace: fate-b, fate_access: {address: 10.0.0.2}}
                      hosts: {b-fate: {}}
            """
        )
    )
    out = tmp_path / "out"
    result = run(env, inventory, out)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Federation preflight failed with 2 error(s):" in output
    assert (
        "federation 'broken': fate_deployment: a star federation needs exactly one host with fate_deployment: exchange"
        in output
    )
    assert (
        "host 'b-fate' (groups: broken, party_b): fate_party_id: party 9999 is already used by host 'a-fate'" in output
    )
    assert not out.exists()


def test_vault_encrypted_secrets(env, tmp_path):
    password_file = tmp_path / "vault-pass"
    password_file.write_text("test-only-vault-password\n")
    encrypted = subprocess.run(
        [
            str(ANSIBLE_VAULT),
            "encrypt_string",
            "--vault-password-file",
            str(password_file),
            "s3cr3t-mysql",
            "--name",
            "fate_mysql_password",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    group_vars = tmp_path / "inv" / "group_vars"
    group_vars.mkdir(parents=True)
    (tmp_path / "inv" / "hosts.yml").write_text(
        "all:\n  vars:\n    ansible_connection: local\n  hosts:\n    solo:\n      fate_federation: solo\n"
        "      fate_party_id: 9999\n      fate_version: '1.11.2'\n      fate_backend: spark_local_pulsar\n"
    )
    (group_vars / "all.yml").write_text(encrypted)
    out = tmp_path / "out"
    result = run(env, tmp_path / "inv", out, "--vault-password-file", str(password_file))
    assert result.returncode == 0, result.stdout + result.stderr
    spec = yaml.safe_load((out / "solo.yaml").read_text())
    assert spec["mysql"]["password"] == "s3cr3t-mysql"
    assert spec["modules"] == ["python", "mysql", "fateboard", "client", "nginx", "pulsar"]


def test_render_hosts_subset_keeps_the_whole_federations_routes(env, tmp_path):
    out = tmp_path / "out"
    proc = run(env, ROOT / "inventories" / "sandbox", out, "-e", "fate_render_hosts=sandbox-fate-9999")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert sorted(p.name for p in out.iterdir()) == ["sandbox-fate-9999.yaml"]
    spec = yaml.safe_load((out / "sandbox-fate-9999.yaml").read_text())
    assert [p["partyId"] for p in spec["osx"]["partyList"]] == [10000]
