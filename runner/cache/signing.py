"""Signed shared-cache entries, the Nix binary-cache model: whoever pushes signs each entry's
key and output digests with an ed25519 key; whoever pulls trusts only entries signed by a
public key *they* configured (environment, command line or their config file), never one a
recipe or the remote names. Without a signature, a remote entry is only as good as the
digests written beside it, which anyone who can write the remote can rewrite too.

Key files hold one line ``NAME:BASE64`` (the raw 32-byte ed25519 key), as Nix's do; a
signature is ``NAME:BASE64``, so a remote entry can carry several (one per pusher).
The signatures themselves come from `cryptography`; nothing here is hand-written crypto.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.core.errors import Location, OvrunError

SIGNING_ENV = "OVRUN_SIGNING_KEY"  # path of the private key used when pushing
TRUSTED_ENV = "OVRUN_TRUSTED_KEYS"  # colon-separated .pub files trusted when pulling
CONFIG_ENV = "OVRUN_CONFIG"  # the user's config file (default: <user config dir>/config.toml)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def fingerprint(key: str, outputs: dict[str, str]) -> bytes:
    """What a signature covers: the entry's key and every output's sha256 (and nothing a
    reader does not check: timings and preimages are informational)."""
    body = json.dumps(outputs, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return f"ovrun-entry/1;{key};{body}".encode()


@dataclass(frozen=True)
class SigningKey:
    name: str
    private: Any  # cryptography's Ed25519PrivateKey

    def sign(self, key: str, outputs: dict[str, str]) -> str:
        raw = self.private.sign(fingerprint(key, outputs))
        return f"{self.name}:{base64.b64encode(raw).decode()}"


@dataclass(frozen=True)
class Trust:
    """The public keys a user trusts; ``configured`` is False when they named none."""

    keys: dict[str, list[Any]] = field(default_factory=dict)  # name -> Ed25519PublicKey(s)

    @property
    def configured(self) -> bool:
        return bool(self.keys)

    def problem(self, key: str, outputs: dict[str, str], signatures: Any) -> str | None:
        """Why the entry is not trusted, or None when a trusted key signed it."""
        from cryptography.exceptions import InvalidSignature

        if not isinstance(signatures, list) or not signatures:
            return "unsigned"
        message = fingerprint(key, outputs)
        seen = []
        for signature in signatures:
            name, _, encoded = str(signature).partition(":")
            seen.append(name)
            for public in self.keys.get(name, []):
                try:
                    public.verify(base64.b64decode(encoded, validate=True), message)
                    return None
                except (InvalidSignature, binascii.Error, ValueError):
                    continue
        if any(name in self.keys for name in seen):
            return "bad signature (entry changed after it was signed)"
        shown = ", ".join(sorted(set(seen)))[:80]
        return f"signed only by untrusted key(s) {shown}"


def keygen(name: str, out_dir: Path) -> tuple[Path, Path]:
    """Write ``NAME.key`` (mode 0600) and ``NAME.pub`` into ``out_dir``; refuse to overwrite."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if not _NAME.match(name):
        raise OvrunError(
            f"key name {name!r} is not allowed",
            hint="letters, digits, '.', '_' and '-', e.g. team-a-cache-1",
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    secret, public = out_dir / f"{name}.key", out_dir / f"{name}.pub"
    for path in (secret, public):
        if path.exists():
            raise OvrunError(
                f"{path} already exists",
                hint="pick another NAME or --out DIR; keys are never overwritten",
            )
    private = Ed25519PrivateKey.generate()
    raw_secret = base64.b64encode(private.private_bytes_raw()).decode()
    raw_public = base64.b64encode(private.public_key().public_bytes_raw()).decode()
    # O_EXCL + 0600 at creation: the secret is never readable by others, not even briefly
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(f"{name}:{raw_secret}\n")
    public.write_text(f"{name}:{raw_public}\n", encoding="ascii")
    return secret, public


def _read_key_line(path: Path, what: str) -> tuple[str, bytes]:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not ASCII text"
        raise OvrunError(
            f"cannot read {what} {path}: {reason}",
            hint="create one with `ovrun cache keygen NAME --out DIR`",
            location=Location(str(path)),
        ) from None
    name, _, encoded = text.partition(":")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not _NAME.match(name) or len(raw) != 32:
        raise OvrunError(
            f"{path} is not an ovrun {what} (NAME:BASE64 of 32 bytes)",
            hint="create one with `ovrun cache keygen NAME --out DIR`",
            location=Location(str(path), 1, 1),
        )
    return name, raw


def load_signing_key(path: Path) -> SigningKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    name, raw = _read_key_line(path, "private key")
    return SigningKey(name, Ed25519PrivateKey.from_private_bytes(raw))


def load_trust(paths: list[Path]) -> Trust:
    if not paths:
        return Trust()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    keys: dict[str, list[Any]] = {}
    for path in paths:
        name, raw = _read_key_line(path, "public key")
        keys.setdefault(name, []).append(Ed25519PublicKey.from_public_bytes(raw))
    return Trust(keys)


def user_config() -> dict[str, Any]:
    """``[cache]`` of the user's config.toml (``signing_key``, ``trusted_keys``); {} if none."""
    import tomllib

    if os.environ.get(CONFIG_ENV):
        path = Path(os.environ[CONFIG_ENV]).expanduser()
    else:
        from platformdirs import user_config_dir

        path = Path(user_config_dir("ovrun")) / "config.toml"
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise OvrunError(
            f"cannot read the ovrun config: {exc}",
            hint="fix the file or point OVRUN_CONFIG elsewhere",
            location=Location(str(path)),
        ) from None
    cache = doc.get("cache", {})
    return cache if isinstance(cache, dict) else {}


def configured_signing_key() -> SigningKey | None:
    """The key pushes are signed with: $OVRUN_SIGNING_KEY, else the config's signing_key."""
    given = os.environ.get(SIGNING_ENV) or user_config().get("signing_key")
    return load_signing_key(Path(str(given)).expanduser()) if given else None


def configured_trust(given: list[str] | None = None) -> Trust:
    """--trusted-key files, plus $OVRUN_TRUSTED_KEYS, plus the config's trusted_keys."""
    paths = [Path(p) for p in given or []]
    paths += [Path(p) for p in os.environ.get(TRUSTED_ENV, "").split(":") if p.strip()]
    listed = user_config().get("trusted_keys", [])
    if isinstance(listed, str):
        listed = [listed]
    paths += [Path(str(p)).expanduser() for p in listed]
    return load_trust(paths)
