"""The certificates role against the Kubernetes API fake: Pulsar / Apache Traffic Server exchange certificates.

A star federation on Spark + Pulsar (the sandbox inventory with party 9999 on spark_pulsar, party 10000 on
spark_local_pulsar and the domain fl.example.org) gets its CA, certificates and secrets; each run is checked
through what the fake stored and the certificates parsed with ``cryptography``.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible_run import BIN, ROOT, ansible_env, recap
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from kube_fake.testing import run_kube_fake

DOMAIN = "fl.example.org"
HOSTS = ("sandbox-exchange", "sandbox-fate-9999", "sandbox-fate-10000")
PULSAR_KEYS = {"broker.cert.pem", "broker.key-pk8.pem", "ca.cert.pem"}
PROXY_KEYS = {"proxy.cert.pem", "proxy.key.pem", "ca.cert.pem"}


def certificates_playbook() -> str:
    """deploy_federation's own preflight and certificates plays, nothing else."""
    plays = yaml.safe_load((ROOT / "playbooks" / "deploy_federation.yml").read_text())
    chosen = [play for play in plays if play["name"].startswith(("Preflight |", "Certificates |"))]
    assert len(chosen) == 2, [play["name"] for play in plays]
    chosen[0]["tasks"][0]["ansible.builtin.import_tasks"] = str(ROOT / "playbooks" / "tasks" / "preflight.yml")
    return yaml.safe_dump(chosen, sort_keys=False)


# ---------------------------------------------------------------------------------------------- helpers


def pulsar_inventory(target: Path) -> Path:
    """The sandbox inventory turned into a star federation on Spark + Pulsar."""
    shutil.copytree(ROOT / "inventories" / "sandbox", target)
    federation = target / "group_vars" / "sandbox.yml"
    data = yaml.safe_load(federation.read_text())
    data.update(fate_backend="spark_pulsar", fate_pulsar_exchange_domain=DOMAIN)
    federation.write_text(yaml.safe_dump(data, sort_keys=False))
    (target / "group_vars" / "sandbox_parties.yml").write_text("---\n{}\n")  # the eggroll-only override
    (target / "group_vars" / "sandbox_party_10000.yml").write_text(
        "---\nfate_party_id: 10000\nfate_backend: spark_local_pulsar\n"
    )
    return target


def run(kube, workdir: Path, *args: str, inventory: Path | None = None) -> subprocess.CompletedProcess:
    playbook = workdir / "certificates.yml"
    if not playbook.exists():
        playbook.write_text(certificates_playbook())
    env = ansible_env(workdir, FATEOPS_SANDBOX_KUBECONFIG=kube.kubeconfig)
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(inventory or workdir / "inventory"), str(playbook), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def secret(kube, name: str, namespace: str) -> dict[str, bytes]:
    found = kube.get("Secret", name, namespace)
    assert found is not None, f"no secret {namespace}/{name}"
    return {key: base64.b64decode(value) for key, value in found["data"].items()}


def common_name(cert: x509.Certificate) -> str:
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def dns_names(cert: x509.Certificate) -> list[str]:
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)


def tree(directory: Path) -> dict[str, tuple[int, str]]:
    """Every file and directory under ``directory``: permission bits and content digest."""
    out = {}
    for path in sorted(directory.rglob("*")):
        mode = stat.S_IMODE(path.stat().st_mode)
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        out[str(path.relative_to(directory))] = (mode, digest)
    return out


def stored(kube) -> list[dict]:
    """The namespaces and secrets of the federation, as the fake stores them."""
    namespaces = ("fate-exchange", "fate-9999", "fate-10000")
    return [n for n in kube.objects("Namespace") if n["metadata"]["name"] in namespaces] + [
        s for ns in namespaces for s in kube.objects("Secret", ns)
    ]


def workload(kind: str, name: str, namespace: str) -> dict:
    labels = {"app.kubernetes.io/name": name}
    spec = {
        "replicas": 1,
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": name, "image": "pulsar"}]}},
    }
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def restarted_at(kube, kind: str, name: str, namespace: str) -> str | None:
    template = kube.get(kind, name, namespace)["spec"]["template"]
    return (template.get("metadata") or {}).get("annotations", {}).get("kubectl.kubernetes.io/restartedAt")


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def kube():
    with run_kube_fake() as fake:
        yield fake


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("certificates")
    pulsar_inventory(path / "inventory")
    return path


# ---------------------------------------------------------------------------------------------- tests


def test_check_mode_on_an_empty_cluster_writes_nothing(kube, workdir):
    proc = run(kube, workdir, "--check", "-e", f"fate_cert_dir={workdir / 'certs'}")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert not (workdir / "certs").exists()
    assert kube.writes(include_dry_run=False) == []
    assert "fate-9999/pulsar-cert: CN 9999.fl.example.org (generated), secret would be created" in proc.stdout
    assert "fate-exchange/traffic-server-cert: CN proxy.fl.example.org (generated), secret would be" in proc.stdout


def test_secrets_hold_certificates_for_the_exchange_names(kube, workdir):
    proc = run(kube, workdir, "-e", f"fate_cert_dir={workdir / 'certs'}")
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert all(counts["changed"] > 0 for counts in recap(proc.stdout).values())

    exchange = secret(kube, "traffic-server-cert", "fate-exchange")
    assert set(exchange) == PROXY_KEYS
    ca = x509.load_pem_x509_certificate(exchange["ca.cert.pem"])
    assert ca.subject == ca.issuer
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True

    for party in (9999, 10000):
        data = secret(kube, "pulsar-cert", f"fate-{party}")
        assert set(data) == PULSAR_KEYS
        assert data["ca.cert.pem"] == exchange["ca.cert.pem"], "every party must trust the exchange's CA"
        cert = x509.load_pem_x509_certificate(data["broker.cert.pem"])
        assert common_name(cert) == f"{party}.{DOMAIN}"
        assert dns_names(cert) == [f"{party}.{DOMAIN}"]
        assert cert.issuer == ca.subject
        cert.verify_directly_issued_by(ca)
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert ExtendedKeyUsageOID.SERVER_AUTH in usages
        assert ExtendedKeyUsageOID.CLIENT_AUTH in usages
        # The broker reads an unencrypted PKCS#8 key (tlsKeyFilePath=.../broker.key-pk8.pem).
        pem = data["broker.key-pk8.pem"]
        assert pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")
        key = serialization.load_pem_private_key(pem, password=None)
        der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        assert base64.b64decode(b"".join(pem.splitlines()[1:-1])) == der
        assert key.public_key().public_numbers() == cert.public_key().public_numbers()

    proxy = x509.load_pem_x509_certificate(exchange["proxy.cert.pem"])
    assert common_name(proxy) == f"proxy.{DOMAIN}"
    proxy.verify_directly_issued_by(ca)
    proxy_key = serialization.load_pem_private_key(exchange["proxy.key.pem"], password=None)
    assert proxy_key.public_key().public_numbers() == proxy.public_key().public_numbers()

    # The namespace of a party not installed yet is created, as the deployment role would.
    assert kube.get("Namespace", "fate-10000")["metadata"]["labels"]["fateops.kubefate/federation"] == "sandbox"
    assert kube.get("Secret", "pulsar-cert", "fate-9999")["type"] == "Opaque"

    # On the controller: mode 0700 directories and 0600 files, one directory per certificate name.
    files = tree(workdir / "certs")
    assert {name for name in files if "/" not in name} == {"sandbox"}
    assert all(mode == 0o700 for name, (mode, digest) in files.items() if not digest), files
    assert all(mode == 0o600 for name, (mode, digest) in files.items() if digest), files
    assert {name for name in files if name.count("/") == 1} == {
        "sandbox/ca.cert.pem",
        "sandbox/ca.key.pem",
        f"sandbox/9999.{DOMAIN}",
        f"sandbox/10000.{DOMAIN}",
        f"sandbox/proxy.{DOMAIN}",
    }
    assert stat.S_IMODE((workdir / "certs").stat().st_mode) == 0o700


def test_second_run_changes_nothing(kube, workdir):
    before = tree(workdir / "certs")
    versions = {(o["kind"], o["metadata"]["name"]): o["metadata"]["resourceVersion"] for o in stored(kube)}
    kube.clear_requests()
    proc = run(kube, workdir, "-e", f"fate_cert_dir={workdir / 'certs'}")
    assert proc.returncode == 0, proc.stdout[-4000:]
    counts = recap(proc.stdout)
    assert set(counts) == set(HOSTS)
    assert all(c["changed"] == 0 and c["failed"] == 0 for c in counts.values()), counts
    # kubernetes.core sends its patches, and the API server finds nothing to change.
    assert {w["method"] for w in kube.writes(include_dry_run=False)} <= {"PATCH"}
    assert {(o["kind"], o["metadata"]["name"]): o["metadata"]["resourceVersion"] for o in stored(kube)} == versions
    assert tree(workdir / "certs") == before
    assert "fate-10000/pulsar-cert: CN 10000.fl.example.org (generated), secret unchanged" in proc.stdout


def test_rotation_reissues_updates_and_restarts(kube, workdir):
    certs = workdir / "certs"
    kube.create(
        workload("StatefulSet", "pulsar", "fate-9999"), workload("Deployment", "traffic-server", "fate-exchange")
    )
    old = {
        ns: secret(kube, name, ns)
        for ns, name in (("fate-9999", "pulsar-cert"), ("fate-exchange", "traffic-server-cert"))
    }
    old_10000 = secret(kube, "pulsar-cert", "fate-10000")

    # Check mode first: it says what would change and writes nothing.
    before = tree(certs)
    kube.clear_requests()
    proc = run(kube, workdir, "--check", "-e", f"fate_cert_dir={certs}", "-e", "fate_cert_rotate=true")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert all(c["changed"] > 0 for c in recap(proc.stdout).values())
    assert kube.writes(include_dry_run=False) == []
    assert tree(certs) == before

    kube.clear_requests()
    proc = run(kube, workdir, "-e", f"fate_cert_dir={certs}", "-e", "fate_cert_rotate=true")
    assert proc.returncode == 0, proc.stdout[-6000:]
    new = {
        ns: secret(kube, name, ns)
        for ns, name in (("fate-9999", "pulsar-cert"), ("fate-exchange", "traffic-server-cert"))
    }
    for namespace, cert_key, key_key in (
        ("fate-9999", "broker.cert.pem", "broker.key-pk8.pem"),
        ("fate-exchange", "proxy.cert.pem", "proxy.key.pem"),
    ):
        before_cert = x509.load_pem_x509_certificate(old[namespace][cert_key])
        after_cert = x509.load_pem_x509_certificate(new[namespace][cert_key])
        assert after_cert.serial_number != before_cert.serial_number
        assert common_name(after_cert) == common_name(before_cert)
        assert new[namespace][key_key] != old[namespace][key_key], "rotation issues a new key"
        assert new[namespace]["ca.cert.pem"] == old[namespace]["ca.cert.pem"], "the CA stays"
        after_cert.verify_directly_issued_by(x509.load_pem_x509_certificate(new[namespace]["ca.cert.pem"]))
    assert secret(kube, "pulsar-cert", "fate-10000")["broker.cert.pem"] != old_10000["broker.cert.pem"]

    # What reads the secrets is restarted; party 10000 has no Pulsar workload yet and nothing is created for it.
    for kind, name, namespace in (
        ("StatefulSet", "pulsar", "fate-9999"),
        ("Deployment", "traffic-server", "fate-exchange"),
    ):
        stamp = restarted_at(kube, kind, name, namespace)
        assert stamp and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp), stamp
        moment = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
        assert abs((datetime.datetime.now(datetime.UTC) - moment).total_seconds()) < 600
    patched = [w for w in kube.writes(include_dry_run=False) if w["method"] == "PATCH" and "/apps/v1/" in w["path"]]
    assert sorted(w["path"].rsplit("/", 3)[-2] for w in patched) == ["deployments", "statefulsets"]
    assert kube.names("StatefulSet", "fate-10000") == [] and kube.names("Deployment", "fate-10000") == []
    assert (
        "fate-9999/pulsar-cert: CN 9999.fl.example.org (generated), secret updated, restarted StatefulSet/pulsar"
        in (proc.stdout)
    )

    # Without rotate the next run changes nothing again.
    proc = run(kube, workdir, "-e", f"fate_cert_dir={certs}")
    assert all(c["changed"] == 0 for c in recap(proc.stdout).values()), proc.stdout[-3000:]


def test_replacing_the_ca_needs_the_whole_federation(kube, workdir):
    certs = workdir / "certs"
    before = tree(certs)
    kube.clear_requests()
    proc = run(
        kube, workdir, "-e", f"fate_cert_dir={certs}", "-e", "fate_cert_rotate_ca=true", "--limit", "sandbox-fate-9999"
    )
    assert proc.returncode != 0
    assert "replacing its CA needs every training cluster and the exchange in the play" in proc.stdout
    assert "left out: sandbox-exchange, sandbox-fate-10000" in proc.stdout
    assert kube.writes(include_dry_run=False) == []
    assert tree(certs) == before


def test_replacing_the_ca_reissues_every_certificate(kube, workdir):
    certs = workdir / "certs"
    old_ca = x509.load_pem_x509_certificate((certs / "sandbox" / "ca.cert.pem").read_bytes())
    proc = run(kube, workdir, "-e", f"fate_cert_dir={certs}", "-e", "fate_cert_rotate_ca=true")
    assert proc.returncode == 0, proc.stdout[-6000:]
    new_ca_pem = (certs / "sandbox" / "ca.cert.pem").read_bytes()
    new_ca = x509.load_pem_x509_certificate(new_ca_pem)
    assert new_ca.serial_number != old_ca.serial_number
    for namespace, name, cert_key in (
        ("fate-9999", "pulsar-cert", "broker.cert.pem"),
        ("fate-10000", "pulsar-cert", "broker.cert.pem"),
        ("fate-exchange", "traffic-server-cert", "proxy.cert.pem"),
    ):
        data = secret(kube, name, namespace)
        assert data["ca.cert.pem"] == new_ca_pem
        x509.load_pem_x509_certificate(data[cert_key]).verify_directly_issued_by(new_ca)


# ---------------------------------------------------------------------------------------------- files given


def make_ca() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Operator CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_leaf(ca_key, ca_cert, dns_name: str) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Operator")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def test_files_given_are_used_and_checked_for_the_name(tmp_path):
    inventory = pulsar_inventory(tmp_path / "inventory")
    given = tmp_path / "given"
    given.mkdir()
    ca_key, ca_cert = make_ca()
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    (given / "ca.pem").write_bytes(ca_pem)
    # Party 10000 is given a certificate for another party's name: refused, the others go on.
    names = {
        "sandbox_exchange": f"proxy.{DOMAIN}",
        "sandbox_party_9999": f"9999.{DOMAIN}",
        "sandbox_party_10000": f"10001.{DOMAIN}",
    }
    keys = {}
    for group, dns_name in names.items():
        key, cert = make_leaf(ca_key, ca_cert, dns_name)
        keys[group] = key
        (given / f"{group}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
            )
        )
        (given / f"{group}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        variables = inventory / "group_vars" / f"{group}.yml"
        data = (yaml.safe_load(variables.read_text()) if variables.exists() else None) or {}
        data["fate_cert_files"] = {
            "cert": str(given / f"{group}.crt"),
            "key": str(given / f"{group}.key"),
            "ca": str(given / "ca.pem"),
        }
        variables.write_text(yaml.safe_dump(data))

    with run_kube_fake() as fake:
        proc = run(fake, tmp_path, "-e", f"fate_cert_dir={tmp_path / 'certs'}", inventory=inventory)
        assert proc.returncode != 0
        counts = recap(proc.stdout)
        assert counts["sandbox-fate-10000"]["failed"] == 1
        assert counts["sandbox-fate-9999"]["failed"] == 0 and counts["sandbox-exchange"]["failed"] == 0
        assert f"is for 10001.{DOMAIN}, not 10000.{DOMAIN}" in proc.stdout
        assert fake.get("Secret", "pulsar-cert", "fate-10000") is None

        party = secret(fake, "pulsar-cert", "fate-9999")
        assert set(party) == PULSAR_KEYS
        assert party["broker.cert.pem"] == (given / "sandbox_party_9999.crt").read_bytes()
        assert party["ca.cert.pem"] == ca_pem
        assert party["broker.key-pk8.pem"].startswith(b"-----BEGIN PRIVATE KEY-----\n")
        assert party["broker.key-pk8.pem"] == keys["sandbox_party_9999"].private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        exchange = secret(fake, "traffic-server-cert", "fate-exchange")
        assert exchange["proxy.key.pem"] == (given / "sandbox_exchange.key").read_bytes()
        assert exchange["proxy.cert.pem"] == (given / "sandbox_exchange.crt").read_bytes()
        # No CA of the collection's own is created when every certificate is given.
        assert not (tmp_path / "certs" / "sandbox" / "ca.key.pem").exists()
        assert "PRIVATE KEY" not in proc.stdout

        # Given files are idempotent too.
        proc = run(
            fake,
            tmp_path,
            "-e",
            f"fate_cert_dir={tmp_path / 'certs'}",
            "--limit",
            "sandbox-fate-9999,sandbox-exchange",
            inventory=inventory,
        )
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert all(c["changed"] == 0 for c in recap(proc.stdout).values()), proc.stdout[-3000:]


def test_a_federation_without_pulsar_exchange_gets_nothing(tmp_path):
    """The sandbox as it is (Eggroll): no certificate, no secret, no directory."""
    with run_kube_fake() as fake:
        proc = run(
            fake, tmp_path, "-e", f"fate_cert_dir={tmp_path / 'certs'}", inventory=ROOT / "inventories" / "sandbox"
        )
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert all(c["changed"] == 0 for c in recap(proc.stdout).values())
        assert fake.writes() == []
        assert not (tmp_path / "certs").exists()
