"""JWT (HS256) and password hashing as the KubeFATE server does them, with the standard library only.

The server uses gin-jwt v2.8.0 on top of golang-jwt: HS256 tokens with the claims ``exp``, ``id`` (the
identity key) and ``orig_iat``, signed with a random key generated at every start. Passwords are stored
as PBKDF2-SHA256 (100000 iterations, 256-byte key, 128-character salt) in hex.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import string
import threading
import time

PBKDF2_ITERATIONS = 100_000
PBKDF2_KEY_BYTES = 256
SALT_CHARS = 128

_ALPHABET = string.ascii_letters + string.digits


class TokenError(Exception):
    """A token gin-jwt rejects; the message is the text the server puts in ``message``."""


def random_key(length: int = 32) -> str:
    """Like ``rand.String(32)``: the per-start signing key."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    if any(c not in _ALPHABET + "-_=" for c in text):
        raise TokenError("illegal base64 data at input byte 0")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise TokenError(f"illegal base64 data: {exc}") from exc


def encode(claims: dict, key: str) -> str:
    header = {"alg": "HS256", "typ": "JWT"}
    signing_input = (
        _b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    signature = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64url(signature)


def decode(token: str, key: str, now: float | None = None) -> dict:
    """Verify ``token`` like golang-jwt ``Parse`` + gin-jwt; raise TokenError with the server's text."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("token contains an invalid number of segments")
    try:
        header = json.loads(_b64url_decode(parts[0]))
        claims = json.loads(_b64url_decode(parts[1]))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError(str(exc) if isinstance(exc, TokenError) else "invalid character in token") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise TokenError("token contains an invalid number of segments")
    if header.get("alg") != "HS256":
        raise TokenError("invalid signing algorithm")
    expected = hmac.new(key.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    try:
        signature = _b64url_decode(parts[2])
    except TokenError:
        signature = b""
    if not hmac.compare_digest(expected, signature):
        raise TokenError("signature is invalid")
    now = time.time() if now is None else now
    exp = claims.get("exp")
    if exp is None:
        raise TokenError("missing exp field")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        raise TokenError("exp must be float64 format")
    if exp < now:
        raise TokenError("Token is expired")
    return claims


def new_token(username: str, key: str, ttl: float, now: float | None = None) -> tuple[str, float]:
    now = time.time() if now is None else now
    expire = int(now + ttl)
    return encode({"exp": expire, "id": username, "orig_iat": int(now)}, key), expire


def new_salt() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(SALT_CHARS))


_hash_cache: dict[tuple[str, str], str] = {}
_hash_lock = threading.Lock()


def hash_password(password: str, salt: str) -> str:
    """PBKDF2-SHA256 hex as ``modules.User`` stores it (memoised: it takes ~0.2 s)."""
    with _hash_lock:
        cached = _hash_cache.get((password, salt))
    if cached is not None:
        return cached
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), PBKDF2_ITERATIONS, PBKDF2_KEY_BYTES)
    value = digest.hex()
    with _hash_lock:
        if len(_hash_cache) > 256:
            _hash_cache.clear()
        _hash_cache[(password, salt)] = value
    return value


def check_password(password: str, salt: str, hashed: str) -> bool:
    return hmac.compare_digest(hash_password(password, salt), hashed)
