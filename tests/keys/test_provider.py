"""KEK providers: one conformance suite for every provider, then the key file's own duties."""

from __future__ import annotations

import base64
import json
import os
import stat
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pds.keys import provider as provider_module
from pds.keys.provider import (
    InMemoryKeyProvider,
    KeyProvider,
    KeyProviderError,
    LocalKeyFileProvider,
    WrappedKey,
)
from pds.vault.envelope import (
    DecryptionError,
    SealContext,
    generate_dek,
    open_chunks,
    open_sealed,
    seal,
    seal_chunks,
    unwrap_key,
    wrap_key,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

CITIZEN = uuid.UUID(int=1)
OTHER_CITIZEN = uuid.UUID(int=2)


@pytest.fixture(params=["local-file", "in-memory"])
def provider(request: pytest.FixtureRequest, tmp_path: Path) -> KeyProvider:
    if request.param == "local-file":
        return LocalKeyFileProvider.open(tmp_path / "kek.json")
    return InMemoryKeyProvider()


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    return tmp_path / "kek.json"


def write_private(path: Path, content: bytes) -> None:
    path.write_bytes(content)
    path.chmod(0o600)


def keks_in(path: Path) -> list[bytes]:
    """What an attacker holding the key file would have."""
    keys = json.loads(path.read_bytes())["keys"]
    return [base64.urlsafe_b64decode(value + "=") for value in keys.values()]


@pytest.fixture
def umask(request: pytest.FixtureRequest) -> Iterator[None]:
    previous = os.umask(request.param)
    try:
        yield
    finally:
        os.umask(previous)


# --- conformance: every provider ------------------------------------------------------


def test_unwrap_inverts_wrap(provider: KeyProvider) -> None:
    dek = generate_dek()
    wrapped = provider.wrap(dek, CITIZEN)
    assert wrapped.kek_version == provider.current_version == 1
    assert dek not in wrapped.ciphertext
    assert provider.unwrap(wrapped, CITIZEN) == dek


def test_unwrap_for_another_owner_fails(provider: KeyProvider) -> None:
    wrapped = provider.wrap(generate_dek(), CITIZEN)
    with pytest.raises(DecryptionError):
        provider.unwrap(wrapped, OTHER_CITIZEN)


def test_a_wrapped_key_relabelled_with_another_version_fails(provider: KeyProvider) -> None:
    wrapped = provider.wrap(generate_dek(), CITIZEN)
    provider.rotate()
    with pytest.raises(DecryptionError):
        provider.unwrap(WrappedKey(2, wrapped.ciphertext), CITIZEN)


def test_tampered_wrapped_key_fails(provider: KeyProvider) -> None:
    wrapped = provider.wrap(generate_dek(), CITIZEN)
    tampered = wrapped.ciphertext[:-1] + bytes([wrapped.ciphertext[-1] ^ 1])
    with pytest.raises(DecryptionError):
        provider.unwrap(WrappedKey(wrapped.kek_version, tampered), CITIZEN)


def test_rotation_keeps_old_versions_for_unwrapping(provider: KeyProvider) -> None:
    old_dek = generate_dek()
    old = provider.wrap(old_dek, CITIZEN)
    assert provider.rotate() == 2
    new_dek = generate_dek()
    new = provider.wrap(new_dek, CITIZEN)
    assert (old.kek_version, new.kek_version) == (1, 2)
    assert provider.current_version == 2
    assert provider.versions() == [1, 2]
    assert provider.unwrap(old, CITIZEN) == old_dek
    assert provider.unwrap(new, CITIZEN) == new_dek


def test_rewrapping_under_the_new_version_keeps_the_dek(provider: KeyProvider) -> None:
    dek = generate_dek()
    old = provider.wrap(dek, CITIZEN)
    provider.rotate()
    rewrapped = provider.wrap(provider.unwrap(old, CITIZEN), CITIZEN)
    assert rewrapped.kek_version == 2
    assert provider.unwrap(rewrapped, CITIZEN) == dek


def test_unknown_version_is_a_provider_error(provider: KeyProvider) -> None:
    wrapped = provider.wrap(generate_dek(), CITIZEN)
    with pytest.raises(KeyProviderError, match="KEK version 7 is not known"):
        provider.unwrap(WrappedKey(7, wrapped.ciphertext), CITIZEN)


def test_wrap_refuses_a_malformed_dek(provider: KeyProvider) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        provider.wrap(b"short", CITIZEN)


def test_concurrent_rotations_never_reuse_a_version(provider: KeyProvider) -> None:
    results: list[int] = []

    def rotate_three_times() -> None:
        results.extend(provider.rotate() for _ in range(3))

    threads = [threading.Thread(target=rotate_three_times) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == list(range(2, 14))
    assert provider.versions() == list(range(1, 14))


def test_after_erasure_nothing_opens_even_with_every_kek(
    provider: KeyProvider, tmp_path: Path
) -> None:
    """Erasure discards the wrapped DEK; the KEK, a fresh DEK and the ciphertext are not enough."""
    context = SealContext(CITIZEN, uuid.UUID(int=3), 1, "claims")
    erased_dek = generate_dek()
    provider.wrap(erased_dek, CITIZEN)  # the stored copy, deleted by erasure
    sealed = seal(erased_dek, b"national insurance number", context)
    del erased_dek
    provider.rotate()
    fresh = provider.wrap(generate_dek(), CITIZEN)  # the citizen signs up again
    candidates = [provider.unwrap(fresh, CITIZEN)]
    key_file = tmp_path / "kek.json"  # only the file provider has one
    if key_file.exists():
        candidates += keks_in(key_file)
    for candidate in candidates:
        with pytest.raises(DecryptionError):
            open_sealed(candidate, sealed, context)


# --- erasure as a property ------------------------------------------------------------


@settings(max_examples=40)
@given(plaintext=st.binary(max_size=300), citizen=st.uuids(), item=st.uuids())
def test_after_erasure_nothing_opens(plaintext: bytes, citizen: uuid.UUID, item: uuid.UUID) -> None:
    """Model erasure as deleting the wrapped DEK, then try everything an attacker still has."""
    kek = generate_dek()
    context = SealContext(citizen, item, 1, "claims")
    erased_dek = generate_dek()
    erased_wrapped = wrap_key(kek, erased_dek, owner_id=citizen, kek_version=1)
    sealed = seal(erased_dek, plaintext, context)
    document = seal_chunks(erased_dek, plaintext, context)
    del erased_dek, erased_wrapped  # erasure: no wrapped copy of this DEK remains

    fresh_wrapped = wrap_key(kek, generate_dek(), owner_id=citizen, kek_version=1)
    fresh_dek = unwrap_key(kek, fresh_wrapped, owner_id=citizen, kek_version=1)
    for candidate in (fresh_dek, kek):
        with pytest.raises(DecryptionError):
            open_sealed(candidate, sealed, context)
        with pytest.raises(DecryptionError):
            b"".join(open_chunks(candidate, [document], context))
    with pytest.raises(DecryptionError):
        unwrap_key(kek, sealed, owner_id=citizen, kek_version=1)


# --- the local key file ---------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o277], indirect=True)
def test_key_file_is_created_private_whatever_the_umask(key_path: Path, umask: None) -> None:
    LocalKeyFileProvider.open(key_path)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_key_file_format(key_path: Path) -> None:
    LocalKeyFileProvider.open(key_path)
    document = json.loads(key_path.read_bytes())
    assert document["format"] == "pds-kek/1"
    assert document["current"] == 1
    assert list(document["keys"]) == ["1"]
    assert len(keks_in(key_path)[0]) == 32


def test_reopening_gives_the_same_keys(key_path: Path) -> None:
    dek = generate_dek()
    wrapped = LocalKeyFileProvider.open(key_path).wrap(dek, CITIZEN)
    assert LocalKeyFileProvider.open(key_path, create=False).unwrap(wrapped, CITIZEN) == dek


def test_rotation_survives_reopening(key_path: Path) -> None:
    first = LocalKeyFileProvider.open(key_path)
    old_dek, new_dek = generate_dek(), generate_dek()
    old = first.wrap(old_dek, CITIZEN)
    first.rotate()
    new = first.wrap(new_dek, CITIZEN)
    reopened = LocalKeyFileProvider.open(key_path)
    assert reopened.versions() == [1, 2]
    assert reopened.current_version == 2
    assert reopened.unwrap(old, CITIZEN) == old_dek
    assert reopened.unwrap(new, CITIZEN) == new_dek


def test_rotation_leaves_one_private_file_and_no_temporaries(key_path: Path) -> None:
    provider = LocalKeyFileProvider.open(key_path)
    provider.rotate()
    assert [path.name for path in key_path.parent.iterdir()] == ["kek.json"]
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_a_version_rotated_by_another_process_still_unwraps(key_path: Path) -> None:
    server = LocalKeyFileProvider.open(key_path)
    admin = LocalKeyFileProvider.open(key_path)
    admin.rotate()
    dek = generate_dek()
    assert server.unwrap(admin.wrap(dek, CITIZEN), CITIZEN) == dek
    assert server.versions() == [1, 2]


def test_rotating_after_another_process_rotated_keeps_its_version(key_path: Path) -> None:
    first = LocalKeyFileProvider.open(key_path)
    second = LocalKeyFileProvider.open(key_path)
    wrapped = second.wrap(generate_dek(), CITIZEN)
    second.rotate()
    second_wrapped = second.wrap(generate_dek(), CITIZEN)
    assert first.rotate() == 3
    reopened = LocalKeyFileProvider.open(key_path)
    assert reopened.versions() == [1, 2, 3]
    reopened.unwrap(wrapped, CITIZEN)
    reopened.unwrap(second_wrapped, CITIZEN)


def test_a_key_file_swapped_underneath_is_refused(key_path: Path) -> None:
    provider = LocalKeyFileProvider.open(key_path)
    key_path.unlink()
    LocalKeyFileProvider.open(key_path)  # a different version 1
    with pytest.raises(KeyProviderError, match="differs"):
        provider.rotate()


def test_a_key_file_deleted_underneath_is_reported(key_path: Path) -> None:
    provider = LocalKeyFileProvider.open(key_path)
    key_path.unlink()
    with pytest.raises(KeyProviderError, match="disappeared"):
        provider.rotate()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602, 0o610])
def test_a_key_file_open_to_others_is_refused(key_path: Path, mode: int) -> None:
    LocalKeyFileProvider.open(key_path)
    key_path.chmod(mode)
    with pytest.raises(KeyProviderError, match="chmod 600") as caught:
        LocalKeyFileProvider.open(key_path)
    assert str(key_path) in str(caught.value)


def test_a_read_only_key_file_is_accepted(key_path: Path) -> None:
    LocalKeyFileProvider.open(key_path)
    key_path.chmod(0o400)
    assert LocalKeyFileProvider.open(key_path).versions() == [1]


def _document(**changes: object) -> bytes:
    good_key = base64.urlsafe_b64encode(bytes(32)).rstrip(b"=").decode()
    document: dict[str, object] = {"format": "pds-kek/1", "current": 1, "keys": {"1": good_key}}
    document.update(changes)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        _document(format="pds-kek/2"),
        _document(keys={}),
        _document(keys=[]),
        _document(keys={"1": base64.urlsafe_b64encode(bytes(16)).decode()}),
        _document(keys={"1": "!!not base64!!"}),
        _document(keys={"1": 12}),
        _document(keys={"01": base64.urlsafe_b64encode(bytes(32)).decode()}),
        _document(keys={"0": base64.urlsafe_b64encode(bytes(32)).decode()}),
        _document(keys={"one": base64.urlsafe_b64encode(bytes(32)).decode()}),
        _document(current=2),
        _document(current="1"),
        _document(current=True),
        _document(current=1.0),
        _document(current=None),
    ],
)
def test_a_malformed_key_file_is_refused(key_path: Path, content: bytes) -> None:
    write_private(key_path, content)
    with pytest.raises(KeyProviderError, match="is malformed"):
        LocalKeyFileProvider.open(key_path)


def test_a_hand_written_padded_key_file_loads(key_path: Path) -> None:
    write_private(key_path, _document(keys={"1": base64.urlsafe_b64encode(bytes(32)).decode()}))
    assert LocalKeyFileProvider.open(key_path).current_version == 1


def test_errors_and_repr_never_show_key_material(key_path: Path) -> None:
    short_key = base64.urlsafe_b64encode(b"0123456789abcdef").decode()
    write_private(key_path, _document(keys={"1": short_key}))
    with pytest.raises(KeyProviderError) as caught:
        LocalKeyFileProvider.open(key_path)
    assert short_key.rstrip("=") not in str(caught.value)
    key_path.unlink()
    provider = LocalKeyFileProvider.open(key_path)
    kek = base64.urlsafe_b64encode(keks_in(key_path)[0]).rstrip(b"=").decode()
    assert kek not in repr(provider)
    assert kek not in repr(provider_module._KeyRing.fresh())


def test_a_missing_key_file_is_only_created_when_asked(key_path: Path) -> None:
    with pytest.raises(KeyProviderError, match="does not exist"):
        LocalKeyFileProvider.open(key_path, create=False)
    assert not key_path.exists()


def test_a_directory_is_not_a_key_file(tmp_path: Path) -> None:
    with pytest.raises(KeyProviderError, match="cannot read key file"):
        LocalKeyFileProvider.open(tmp_path)


def test_a_device_is_not_a_key_file() -> None:
    with pytest.raises(KeyProviderError, match="not a regular file"):
        LocalKeyFileProvider.open(Path("/dev/null"), create=False)


def test_losing_a_creation_race_uses_the_winners_file(key_path: Path) -> None:
    winner = LocalKeyFileProvider.open(key_path)
    ring = provider_module._create_key_file(key_path)  # as if we lost the O_EXCL race
    dek = generate_dek()
    assert LocalKeyFileProvider(key_path, ring).unwrap(winner.wrap(dek, CITIZEN), CITIZEN) == dek


def test_a_failed_creation_leaves_no_file(key_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(KeyProviderError, match=r"cannot write key file .*No space left"):
        LocalKeyFileProvider.open(key_path)
    assert list(key_path.parent.iterdir()) == []


def test_a_failed_rotation_keeps_the_old_file_and_version(
    key_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = LocalKeyFileProvider.open(key_path)
    before = key_path.read_bytes()

    def failing_replace(self: Path, target: Path) -> Path:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(Path, "replace", failing_replace)
    with pytest.raises(KeyProviderError, match="cannot write key file"):
        provider.rotate()
    assert provider.versions() == [1]
    assert key_path.read_bytes() == before
    assert [path.name for path in key_path.parent.iterdir()] == ["kek.json"]


def test_local_provider_wraps_under_a_version_another_process_rotated_to(tmp_path: Path) -> None:
    server = LocalKeyFileProvider.open(tmp_path / "kek.json")
    operator = LocalKeyFileProvider.open(tmp_path / "kek.json")
    new_version = operator.rotate()
    owner = uuid.uuid4()
    wrapped = server.wrap(os.urandom(32), owner)
    assert wrapped.kek_version == new_version
    assert server.current_version == new_version
