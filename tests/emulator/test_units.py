"""In-process checks of the Go reproductions the emulator's answers depend on (no server needed)."""

from __future__ import annotations

import base64
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kubefate_emulator import auth, goish
from kubefate_emulator.cli import options_from_args
from kubefate_emulator.httpx import Router, go_json, parse_multipart
from kubefate_emulator.options import OptionError, Options


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("name: fate-9999", 4),  # raw YAML: ':' is the first illegal byte
        ("aGVsbG8", 4),  # missing padding: the incomplete quantum starts at byte 4
        ("aGVsbG8=x", 8),  # trailing garbage after padding
        ("YQ=", 3),  # not enough padding
        ("Y===", 1),  # padding too early
        ("{}", 0),
    ],
)
def test_go_base64_error_offsets(text, offset):
    with pytest.raises(goish.GoError) as err:
        goish.b64decode_std(text)
    assert str(err.value) == f"illegal base64 data at input byte {offset}"


@given(st.binary(max_size=200))
def test_go_base64_roundtrip(data):
    assert goish.b64decode_std(base64.b64encode(data).decode()) == data


def test_go_base64_ignores_newlines():
    assert goish.b64decode_std("aGVs\nbG8=\r\n") == b"hello"


def test_bind_struct_is_case_insensitive_and_typed():
    fields = {"name": str, "cover": bool, "data": bytes, "Keep_upgrade_job": bool}
    doc = goish.bind_struct(b'{"NAME":"a","keep_upgrade_job":true,"data":"aGk=","other":1}', "ClusterArgs", fields)
    assert doc == {"name": "a", "Keep_upgrade_job": True, "data": b"hi"}
    with pytest.raises(goish.GoError, match=r"cannot unmarshal number into Go struct field ClusterArgs\.data"):
        goish.bind_struct(b'{"data": 5}', "ClusterArgs", fields)
    with pytest.raises(goish.GoError, match=r"cannot unmarshal string into Go struct field ClusterArgs\.cover"):
        goish.bind_struct(b'{"cover": "yes"}', "ClusterArgs", fields)
    with pytest.raises(goish.GoError, match=r"^EOF$"):
        goish.bind_struct(b"", "ClusterArgs", fields)


def test_parse_spec_like_sigs_yaml():
    spec = goish.parse_spec("partyId: 9999\nroute_table:\n  9999: {host: a}\ndate: 2024-01-01\non: yes\n")
    assert spec == {"partyId": 9999, "route_table": {"9999": {"host": "a"}}, "date": "2024-01-01", "true": True}
    with pytest.raises(goish.GoError, match="cannot unmarshal array into Go value of type map"):
        goish.parse_spec("- a\n- b\n")
    with pytest.raises(goish.GoError, match="error converting YAML to JSON"):
        goish.parse_spec("a: [1, 2\n")


def test_time_format():
    assert goish.format_time(None) == "0001-01-01T00:00:00Z"
    assert goish.format_time(1719290377.6) == "2024-06-25T04:39:37.6Z"
    assert goish.format_time(1719290377.0) == "2024-06-25T04:39:37Z"


def test_jwt_roundtrip_and_errors():
    token, expire = auth.new_token("admin", "k" * 32, 60)
    header, _claims, _sig = token.split(".")
    assert base64.urlsafe_b64decode(header + "==") == b'{"alg":"HS256","typ":"JWT"}'
    decoded = auth.decode(token, "k" * 32)
    assert decoded["id"] == "admin" and decoded["exp"] == expire and "orig_iat" in decoded
    with pytest.raises(auth.TokenError, match="signature is invalid"):
        auth.decode(token, "x" * 32)
    with pytest.raises(auth.TokenError, match="Token is expired"):
        auth.decode(token, "k" * 32, now=time.time() + 120)
    with pytest.raises(auth.TokenError, match="invalid number of segments"):
        auth.decode("abc", "k" * 32)


def test_password_hash_is_pbkdf2_sha256_256_bytes():
    salt = auth.new_salt()
    assert len(salt) == 128
    hashed = auth.hash_password("admin", salt)
    assert len(hashed) == 512 and auth.check_password("admin", salt, hashed)
    assert not auth.check_password("wrong", salt, hashed)


def test_router_trailing_slash_redirects():
    router = Router()
    router.add("GET", "/v1/cluster/", lambda r: None)
    router.add("POST", "/v1/cluster", lambda r: None)
    router.add("GET", "/v1/cluster/:clusterId", lambda r: None)
    redirect = router.resolve("GET", "/v1/cluster", "all=true")
    assert (redirect.status, redirect.headers["Location"]) == (301, "/v1/cluster/?all=true")
    redirect = router.resolve("POST", "/v1/cluster/", "")
    assert (redirect.status, redirect.headers["Location"]) == (307, "/v1/cluster")
    _route, params = router.resolve("GET", "/v1/cluster/abc", "")
    assert params == {"clusterId": "abc"}
    assert router.resolve("DELETE", "/v1/cluster/", "").body == b"404 page not found"


def test_go_json_escapes_html():
    assert go_json({"a": "<no value> & more"}) == b'{"a":"\\u003cno value\\u003e \\u0026 more"}'


def test_multipart_parse():
    body = (
        b'--XX\r\nContent-Disposition: form-data; name="file"; filename="c.tgz"\r\n'
        b"Content-Type: application/gzip\r\n\r\n\x1f\x8b\x00\r\n--XX--\r\n"
    )
    parts = parse_multipart("multipart/form-data; boundary=XX", body)
    assert [(p.name, p.filename, p.content) for p in parts] == [("file", "c.tgz", b"\x1f\x8b\x00")]


def test_options_cli_and_runtime_changes():
    options = options_from_args(["--fail-module", "python", "--fail-module", "mysql", "--http-error-codes", "503"])
    assert options.fail_modules == ["python", "mysql"] and options.http_error_codes == [503]
    assert Options().changed({"job_seconds": 2, "fail_modules": "osx"}) == {"job_seconds": 2.0, "fail_modules": ["osx"]}
    with pytest.raises(OptionError, match="unknown option"):
        Options().changed({"nope": 1})
    with pytest.raises(OptionError, match="between 0 and 1"):
        Options().changed({"http_error_rate": 2})
    with pytest.raises(OptionError, match="command line"):
        Options().changed({"port": 1})


def test_version_compare():
    assert goish.version_tuple("v1.11.2") > goish.version_tuple("v1.9.1")
    assert goish.version_tuple("v2.0.0-beta") == (2, 0, 0)
