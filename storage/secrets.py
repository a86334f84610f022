"""Authenticated encryption of stored credentials (``cryptography``'s Fernet / MultiFernet).

Fernet is AES-128-CBC with an HMAC-SHA256 over the whole token: a tampered or truncated token, or one made
under another key, is rejected, never decrypted to garbage.

``SECRET_KEYS`` is a comma-separated list; the first key encrypts, every key decrypts, and
:meth:`SecretBox.rotate` re-encrypts a token under the first key (``schedbot secrets rotate`` does it for every
stored credential).  Each key may be

* a Fernet key (32 url-safe base64 bytes, e.g. from ``python -c "from cryptography.fernet import Fernet;
  print(Fernet.generate_key().decode())"``), used as is; or
* any other non-empty string (a passphrase), stretched to a Fernet key with HKDF-SHA256 (salt
  ``b"schedbot/secret-keys/v1"``, info ``b"fernet-key"``, 32 bytes).  HKDF is not a password hash: use long
  random strings, not memorable passwords.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["HKDF_INFO", "HKDF_SALT", "SecretBox", "SecretError", "derive_key", "generate_key"]

HKDF_SALT = b"schedbot/secret-keys/v1"
HKDF_INFO = b"fernet-key"

UNDECRYPTABLE = "credentials cannot be decrypted with the configured SECRET_KEYS"


class SecretError(Exception):
    """Secrets cannot be encrypted or decrypted with the configured keys.  Messages never include a secret."""


def generate_key() -> str:
    """A fresh random Fernet key, as text."""
    return Fernet.generate_key().decode("ascii")


def _is_fernet_key(key: str) -> bool:
    try:
        raw = base64.urlsafe_b64decode(key.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False
    return len(raw) == 32 and len(key) == 44


def derive_key(key: str) -> bytes:
    """The Fernet key for one entry of ``SECRET_KEYS`` (see the module docstring)."""
    if _is_fernet_key(key):
        return key.encode("ascii")
    material = HKDF(algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT, info=HKDF_INFO).derive(key.encode("utf-8"))
    return base64.urlsafe_b64encode(material)


class SecretBox:
    """Encrypts with the first key, decrypts with any.  Its repr shows how many keys it has, nothing more."""

    __slots__ = ("_count", "_fernet")

    def __init__(self, keys: Sequence[str]) -> None:
        if isinstance(keys, str):
            raise TypeError("SecretBox takes a sequence of keys; use SecretBox.from_env_value for 'k1,k2'")
        cleaned = [k.strip() for k in keys if k and k.strip()]
        if not cleaned:
            raise SecretError("no SECRET_KEYS configured: set SECRET_KEYS to one or more comma-separated keys")
        self._fernet = MultiFernet([Fernet(derive_key(k)) for k in cleaned])
        self._count = len(cleaned)

    @classmethod
    def from_env_value(cls, value: str | None) -> SecretBox:
        """From the ``SECRET_KEYS`` form ``"newest,older,oldest"``."""
        return cls((value or "").split(","))

    @property
    def key_count(self) -> int:
        return self._count

    def __repr__(self) -> str:
        return f"SecretBox(<{self._count} key{'s' if self._count != 1 else ''} hidden>)"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("SecretBox cannot be pickled")

    def encrypt(self, plaintext: bytes | str) -> str:
        data = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
        return self._fernet.encrypt(data).decode("ascii")

    def decrypt(self, token: str) -> bytes:
        try:
            return self._fernet.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError, ValueError, TypeError):
            raise SecretError(UNDECRYPTABLE) from None

    def rotate(self, token: str) -> str:
        """The same plaintext, encrypted again under the first key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeEncodeError, ValueError, TypeError):
            raise SecretError(UNDECRYPTABLE) from None

    def encrypt_json(self, data: Mapping[str, Any]) -> str:
        return self.encrypt(json.dumps(dict(data), separators=(",", ":"), sort_keys=True))

    def decrypt_json(self, token: str) -> dict[str, Any]:
        value = json.loads(self.decrypt(token))
        if not isinstance(value, dict):
            raise SecretError("stored credentials are not a JSON object")
        return value
