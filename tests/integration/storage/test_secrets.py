"""SecretBox and the credential store: authenticated encryption, rotation, nothing in clear."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.scheduling.model import Person
from storage.repositories import SqlCalendarRepository, SqlCredentialStore, SqlPeopleRepository
from storage.secrets import SecretBox, SecretError, generate_key
from storage.store import open_storage
from storage.tables import CredentialRow, table

NOW = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
SECRET = {"refresh_token": "1//0gSUPERSECRETrefresh", "access_token": "ya29.SECRETaccess", "expires_in": 3599}


def test_round_trip_with_fernet_keys_and_passphrases() -> None:
    for key in (generate_key(), "a long random passphrase that is not a fernet key"):
        box = SecretBox([key])
        token = box.encrypt_json(SECRET)
        assert "SUPERSECRET" not in token
        assert box.decrypt_json(token) == SECRET
        assert SecretBox([key]).decrypt_json(token) == SECRET  # derivation is deterministic
    assert SecretBox.from_env_value(" k1 , k2 ,").key_count == 2


def test_rotation() -> None:
    old, new = generate_key(), "new passphrase key"
    token = SecretBox([old]).encrypt("s3cret")
    both = SecretBox.from_env_value(f"{new},{old}")
    assert both.decrypt(token) == b"s3cret"  # old key still decrypts
    rotated = both.rotate(token)
    assert SecretBox([new]).decrypt(rotated) == b"s3cret"  # re-encrypted under the first key
    with pytest.raises(SecretError, match="cannot be decrypted with the configured SECRET_KEYS"):
        SecretBox([old]).decrypt(rotated)  # the old key alone no longer does
    with pytest.raises(SecretError):
        SecretBox([new]).decrypt(token)


def test_tampered_or_foreign_tokens_are_rejected() -> None:
    box = SecretBox([generate_key()])
    token = box.encrypt("s3cret")
    for bad in (token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"), token[:40], "not a token", ""):
        with pytest.raises(SecretError, match="SECRET_KEYS"):
            box.decrypt(bad)
    with pytest.raises(SecretError):
        SecretBox([generate_key()]).decrypt(token)


def test_no_keys_and_reprs_hide_secrets(engine: Engine) -> None:
    with pytest.raises(SecretError, match="no SECRET_KEYS"):
        SecretBox.from_env_value("")
    with pytest.raises(SecretError):
        SecretBox([" ", ""])
    key = "hunter2-but-longer-secret"
    box = SecretBox([key])
    store = SqlCredentialStore(engine, box)
    for thing in (box, store):
        assert key not in repr(thing) and key not in str(thing)
    with pytest.raises(TypeError):
        pickle.dumps(box)
    refused = SqlCredentialStore(engine, None)
    with pytest.raises(SecretError, match="no SECRET_KEYS configured"):
        refused.put("acc", SECRET)
    with pytest.raises(SecretError):
        refused.get("acc")


def test_credential_store_keeps_only_ciphertext_and_rotates(engine: Engine) -> None:
    SqlPeopleRepository(engine).add(Person(id="dana", display_name="Dana"))
    calendars = SqlCalendarRepository(engine)
    a = calendars.add_account("dana", "google", "dana@gmail.com", now=NOW)
    b = calendars.add_account("dana", "microsoft", "dana@outlook.com", now=NOW)
    old_key, new_key = generate_key(), generate_key()
    store = SqlCredentialStore(engine, SecretBox([old_key]))
    store.put(a.id, SECRET)
    store.put(b.id, {"token": "B-SECRET"})
    assert store.get(a.id) == SECRET and store.get("nope") is None

    cred = table(CredentialRow)
    with engine.connect() as conn:
        raw = {r.account_id: r.ciphertext for r in conn.execute(select(cred))}
    assert set(raw) == {a.id, b.id}
    for token in raw.values():
        assert "SECRET" not in token and "refresh" not in token

    rotating = SqlCredentialStore(engine, SecretBox([new_key, old_key]))
    assert rotating.rotate_all() == 2
    assert SqlCredentialStore(engine, SecretBox([new_key])).get(a.id) == SECRET
    with pytest.raises(SecretError):
        SqlCredentialStore(engine, SecretBox([old_key])).get(a.id)

    store = SqlCredentialStore(engine, SecretBox([new_key]))
    store.put(a.id, {"token": "replaced"})
    assert store.get(a.id) == {"token": "replaced"}
    store.delete(a.id)
    assert store.get(a.id) is None
    calendars.delete_account(b.id)  # credentials go with the account
    assert store.get(b.id) is None


def test_rotation_is_all_or_nothing(engine: Engine) -> None:
    SqlPeopleRepository(engine).add(Person(id="dana", display_name="Dana"))
    calendars = SqlCalendarRepository(engine)
    a = calendars.add_account("dana", "google", "g", now=NOW)
    b = calendars.add_account("dana", "caldav", "c", now=NOW)
    k1, k2, k3 = generate_key(), generate_key(), generate_key()
    SqlCredentialStore(engine, SecretBox([k1])).put(a.id, {"t": "a"})
    SqlCredentialStore(engine, SecretBox([k2])).put(b.id, {"t": "b"})
    with pytest.raises(SecretError):
        SqlCredentialStore(engine, SecretBox([k3, k1])).rotate_all()  # b is under k2, unknown
    assert SqlCredentialStore(engine, SecretBox([k1])).get(a.id) == {"t": "a"}  # unchanged


def test_storage_bundle_repr_hides_keys(tmp_path: object) -> None:
    key = "very-secret-key-material"
    store = open_storage(f"sqlite:///{tmp_path}/bundle.db", secret_keys=key, migrate=True)
    try:
        assert key not in repr(store) and key not in repr(store.credentials)
        store.people.add(Person(id="p", display_name="P"))
        account = store.calendars.add_account("p", "local", "Local", now=NOW)
        store.credentials.put(account.id, {"k": "v"})
        assert store.credentials.get(account.id) == {"k": "v"}
    finally:
        store.close()
