# Copyright: fateops.kubefate contributors
# SPDX-License-Identifier: Apache-2.0 OR GPL-3.0-or-later
# Apache License 2.0 (see LICENSE), or at your option the GNU General Public License v3.0+ (see COPYING)
"""cluster.yaml helpers: comparison with what KubeFATE stored, and masking of secrets for diffs and results."""

import copy
import json
import re

SECRET_MARKERS = ("password", "passwd", "secret", "token", "default_pass", "private_key", "privatekey")
MASK = "********"


def is_secret_key(key):
    lowered = str(key).lower()
    return any(marker in lowered for marker in SECRET_MARKERS)


def mask_secrets(value):
    """A copy of ``value`` with every secret-looking key's value replaced by ``********``."""
    if isinstance(value, dict):
        return {k: (MASK if is_secret_key(k) and v not in (None, "") else mask_secrets(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value


def secret_values(value, found=None):
    """Every non-trivial string stored under a secret-looking key (for ``no_log_values``)."""
    found = set() if found is None else found
    if isinstance(value, dict):
        for k, v in value.items():
            if is_secret_key(k) and isinstance(v, (str, int)) and len(str(v)) > 3:
                found.add(str(v))
            else:
                secret_values(v, found)
    elif isinstance(value, list):
        for v in value:
            secret_values(v, found)
    return found


def normalize(spec):
    """The spec as KubeFATE stores it: a JSON round trip (KubeFATE parses YAML into JSON-typed values).

    Integers and floats of the same value compare equal, as Go's float64 numbers do.
    """
    return json.loads(json.dumps(spec, sort_keys=True, default=str))


def specs_equal(desired, stored):
    return normalize(desired) == normalize(stored or {})


def changed_paths(desired, stored, prefix=""):
    """Dotted paths whose values differ, for one-line messages (``python.resources``, ``modules``...)."""
    desired, stored = normalize(desired), normalize(stored or {})
    paths = []
    if isinstance(desired, dict) and isinstance(stored, dict):
        for key in sorted(set(desired) | set(stored)):
            sub = f"{prefix}.{key}" if prefix else str(key)
            if key not in desired or key not in stored:
                paths.append(sub)
            elif desired[key] != stored[key]:
                nested = changed_paths(desired[key], stored[key], sub)
                paths.extend(nested or [sub])
    elif desired != stored:
        paths.append(prefix or "(root)")
    return paths


def with_identity(spec, name, namespace, chart_name, chart_version):
    """The spec with the four keys KubeFATE needs inside ``data`` set (they must equal the API body fields)."""
    out = copy.deepcopy(spec)
    for key, value in (
        ("name", name),
        ("namespace", namespace),
        ("chartName", chart_name),
        ("chartVersion", chart_version),
    ):
        if value is not None:
            out[key] = value
    return out


#: Secrets that show up in text whatever the configuration: bearer tokens, JWTs and PEM private keys.
_TEXT_SECRETS = (
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*"), r"\1" + MASK),
    (re.compile(r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"), MASK),
    (
        re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.S),
        r"-----BEGIN \1PRIVATE KEY-----\n" + MASK + r"\n-----END \1PRIVATE KEY-----",
    ),
    (
        re.compile(r"(?i)((?:password|passwd|secret|token)[\"']?\s*[:=]\s*[\"']?)([^\s\"',;)}]+)"),
        r"\1" + MASK,
    ),
)


def redact(value, secrets=()):
    """``value`` (text, or data holding text) with every known secret, token and private key replaced.

    ``secrets`` are the exact values configured (passwords from the inventory); values of three characters or
    fewer are ignored, as they would mask ordinary words. Secret-looking keys of data are masked too.
    """
    known = sorted({str(s) for s in secrets or () if s is not None and len(str(s)) > 3}, key=len, reverse=True)
    if isinstance(value, dict):
        return {k: (MASK if is_secret_key(k) and v not in (None, "") else redact(v, known)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, known) for v in value]
    if not isinstance(value, str):
        return value
    for secret in known:
        value = value.replace(secret, MASK)
    for pattern, replacement in _TEXT_SECRETS:
        value = pattern.sub(replacement, value)
    return value
