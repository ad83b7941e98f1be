"""Properties of the envelope: what seals must open, and anything tampered or moved must not."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import uuid
from typing import TYPE_CHECKING

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pds.vault.envelope import (
    CHUNK_SIZE,
    DEK_BYTES,
    DecryptionError,
    SealContext,
    generate_dek,
    iter_frames,
    iter_sealed_frames,
    open_chunks,
    open_frame,
    open_sealed,
    seal,
    seal_chunks,
    sealed_frame_size,
    unwrap_key,
    wrap_key,
)

if TYPE_CHECKING:
    from collections.abc import Callable

DEK = bytes(range(32))
OTHER_DEK = bytes(range(1, 33))
KEK = bytes(range(100, 132))
OWNER = uuid.UUID(int=7)
CONTEXT = SealContext(uuid.UUID(int=1), uuid.UUID(int=2), 3, "note")
BOUNDARY_SIZES = (0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE)

# Small pools make two drawn contexts share values or differ by a prefix, where
# an ambiguous encoding would collide; fully random UUIDs would never test that.
_ids = st.sampled_from([uuid.UUID(int=n) for n in (0, 1, 2**64, 2**128 - 1)]) | st.uuids()
_fields = st.text(alphabet="ab\x00\u00e9", min_size=1, max_size=4) | st.text(min_size=1)
_versions = st.integers(0, 3) | st.integers(0, 2**64 - 1)
contexts = st.builds(SealContext, _ids, _ids, _versions, _fields)


def frames_of(sealed: bytes) -> list[bytes]:
    return list(iter_frames(io.BytesIO(sealed).read))


def open_all(frames: list[bytes], context: SealContext = CONTEXT, dek: bytes = DEK) -> bytes:
    return b"".join(open_chunks(dek, frames, context))


def pseudo_random_bytes(size: int, seed: int = 0) -> bytes:
    return hashlib.shake_256(seed.to_bytes(8, "big")).digest(size)


def flip_bit(data: bytes, bit: int) -> bytes:
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


# --- single values -------------------------------------------------------------------


@given(plaintext=st.binary(max_size=4096), context=contexts)
def test_open_inverts_seal(plaintext: bytes, context: SealContext) -> None:
    assert open_sealed(DEK, seal(DEK, plaintext, context), context) == plaintext


def test_sealed_layout_is_version_nonce_ciphertext_tag() -> None:
    sealed = seal(DEK, b"abc", CONTEXT)
    assert sealed[0] == 1
    assert len(sealed) == 1 + 12 + 3 + 16


def test_seal_uses_a_fresh_nonce_each_time() -> None:
    assert seal(DEK, b"same", CONTEXT) != seal(DEK, b"same", CONTEXT)


def test_every_single_bit_flip_is_detected() -> None:
    sealed = seal(DEK, b"four", CONTEXT)
    for bit in range(len(sealed) * 8):
        with pytest.raises(DecryptionError):
            open_sealed(DEK, flip_bit(sealed, bit), CONTEXT)


@given(plaintext=st.binary(max_size=512), data=st.data())
def test_a_bit_flip_anywhere_is_detected(plaintext: bytes, data: st.DataObject) -> None:
    sealed = seal(DEK, plaintext, CONTEXT)
    bit = data.draw(st.integers(0, len(sealed) * 8 - 1), label="bit")
    with pytest.raises(DecryptionError):
        open_sealed(DEK, flip_bit(sealed, bit), CONTEXT)


def test_aad_bytes_are_pinned() -> None:
    """Every stored ciphertext was sealed under these bytes: a change here strands them.
    Each part is a 4-byte big-endian length then the part; the tag, the algorithm, the
    citizen and item ids (16 bytes each), the version (8 bytes), the field name."""

    def part(raw: bytes) -> bytes:
        return len(raw).to_bytes(4, "big") + raw

    where = (
        part(uuid.UUID(int=1).bytes)
        + part(uuid.UUID(int=2).bytes)
        + part((3).to_bytes(8, "big"))
        + part(b"note")
    )
    assert CONTEXT.aad() == part(b"pds/v1/seal") + part(b"A256GCM") + where
    assert CONTEXT.aad().hex().startswith("0000000b" + b"pds/v1/seal".hex() + "00000007")
    # Documents are sealed in chunks under the same parts, tagged as chunks.
    chunk_head = part(b"pds/v1/chunk") + part(b"A256GCM")
    assert CONTEXT._chunk_prefix == chunk_head + where


@pytest.mark.parametrize(
    "change",
    [
        {"citizen_id": uuid.UUID(int=99)},
        {"item_id": uuid.UUID(int=99)},
        {"version": 4},
        {"field": "notes"},
    ],
    ids=["citizen", "item", "version", "field"],
)
def test_ciphertext_moved_to_another_context_fails(change: dict[str, object]) -> None:
    sealed = seal(DEK, b"secret", CONTEXT)
    with pytest.raises(DecryptionError):
        open_sealed(DEK, sealed, dataclasses.replace(CONTEXT, **change))  # type: ignore[arg-type]


@given(sealed_under=contexts, opened_under=contexts, plaintext=st.binary(max_size=64))
def test_any_other_context_fails(
    sealed_under: SealContext, opened_under: SealContext, plaintext: bytes
) -> None:
    assume(sealed_under != opened_under)
    with pytest.raises(DecryptionError):
        open_sealed(DEK, seal(DEK, plaintext, sealed_under), opened_under)


@given(plaintext=st.binary(max_size=256))
def test_wrong_dek_fails(plaintext: bytes) -> None:
    with pytest.raises(DecryptionError):
        open_sealed(OTHER_DEK, seal(DEK, plaintext, CONTEXT), CONTEXT)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda _: b"",
        lambda s: s[:28],
        lambda s: s[:-1],
        lambda s: b"\x02" + s[1:],
        lambda s: b"\x00" + s[1:],
        lambda s: s + b"\x00",
    ],
    ids=["empty", "shorter-than-overhead", "truncated", "future-version", "zero-version", "extra"],
)
def test_malformed_sealed_values_fail(mangle: Callable[[bytes], bytes]) -> None:
    with pytest.raises(DecryptionError):
        open_sealed(DEK, mangle(seal(DEK, b"abc", CONTEXT)), CONTEXT)


@pytest.mark.parametrize("dek", [b"", DEK[:16], DEK + b"\x00"], ids=["empty", "aes128", "33"])
def test_open_with_a_malformed_dek_fails_the_same_way(dek: bytes) -> None:
    with pytest.raises(DecryptionError):
        open_sealed(dek, seal(DEK, b"abc", CONTEXT), CONTEXT)


def test_seal_refuses_anything_but_an_aes256_key() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        seal(DEK[:16], b"abc", CONTEXT)


def test_failures_share_one_non_leaky_message() -> None:
    sealed = seal(DEK, b"abc", CONTEXT)
    attempts: list[Callable[[], bytes]] = [
        lambda: open_sealed(OTHER_DEK, sealed, CONTEXT),
        lambda: open_sealed(DEK, sealed[:-1], CONTEXT),
        lambda: open_sealed(DEK, sealed, dataclasses.replace(CONTEXT, field="x")),
    ]
    messages = set()
    for attempt in attempts:
        with pytest.raises(DecryptionError) as caught:
            attempt()
        messages.add(str(caught.value))
    assert messages == {"the data could not be decrypted"}


def test_generate_dek_gives_distinct_aes256_keys() -> None:
    keys = {generate_dek() for _ in range(8)}
    assert len(keys) == 8
    assert all(len(key) == DEK_BYTES for key in keys)


# --- context and AAD -------------------------------------------------------------------


@given(first=contexts, second=contexts)
def test_aad_is_injective(first: SealContext, second: SealContext) -> None:
    assume(first != second)
    assert first.aad() != second.aad()


def test_aad_names_the_format_and_algorithm() -> None:
    assert b"pds/v1/seal" in CONTEXT.aad()
    assert b"A256GCM" in CONTEXT.aad()


@pytest.mark.parametrize(
    "change",
    [
        {"version": -1},
        {"version": 2**64},
        {"version": True},
        {"field": ""},
        {"field": "\ud800"},
        {"citizen_id": "00000000-0000-0000-0000-000000000001"},
        {"item_id": 2},
    ],
    ids=["negative", "too-big", "bool", "empty-field", "surrogate", "str-id", "int-id"],
)
def test_invalid_contexts_are_refused_when_built(change: dict[str, object]) -> None:
    with pytest.raises((TypeError, ValueError)):
        dataclasses.replace(CONTEXT, **change)  # type: ignore[arg-type]


def test_context_repr_and_equality_ignore_the_cached_encodings() -> None:
    twin = SealContext(uuid.UUID(int=1), uuid.UUID(int=2), 3, "note")
    assert twin == CONTEXT
    assert hash(twin) == hash(CONTEXT)
    assert "aad" not in repr(CONTEXT)


# --- chunked documents -----------------------------------------------------------------


@pytest.mark.parametrize("size", BOUNDARY_SIZES)
def test_chunked_round_trip_at_chunk_boundaries(size: int) -> None:
    data = pseudo_random_bytes(size)
    frames = frames_of(seal_chunks(DEK, data, CONTEXT))
    assert open_all(frames) == data
    assert all(len(frame) == sealed_frame_size() for frame in frames[:-1])
    assert 0 < len(frames[-1]) <= sealed_frame_size()


def test_an_empty_document_is_one_empty_last_frame() -> None:
    frames = frames_of(seal_chunks(DEK, b"", CONTEXT))
    assert len(frames) == 1
    assert list(open_chunks(DEK, frames, CONTEXT)) == [b""]


@st.composite
def document_sizes(draw: st.DrawFn) -> int:
    near = draw(st.sampled_from([0, CHUNK_SIZE, 2 * CHUNK_SIZE, 3 * CHUNK_SIZE]))
    return max(0, near + draw(st.integers(-3, 3)))


@settings(max_examples=30, deadline=None)
@given(size=document_sizes() | st.integers(0, 3 * CHUNK_SIZE + 7), seed=st.integers(0, 2**32))
def test_chunked_round_trip(size: int, seed: int) -> None:
    data = pseudo_random_bytes(size, seed)
    chunks = list(open_chunks(DEK, frames_of(seal_chunks(DEK, data, CONTEXT)), CONTEXT))
    assert b"".join(chunks) == data
    assert all(len(chunk) == CHUNK_SIZE for chunk in chunks[:-1])


@pytest.fixture(scope="module")
def three_frames() -> list[bytes]:
    return frames_of(seal_chunks(DEK, pseudo_random_bytes(2 * CHUNK_SIZE + 10), CONTEXT))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda f: f[:-1],
        lambda f: f[:1],
        lambda _: [],
        lambda f: [f[1], f[0], f[2]],
        lambda f: [f[0], f[2], f[1]],
        lambda f: [f[0], f[1], f[1], f[2]],
        lambda f: [*f, f[2]],
        lambda f: [*f, f[0]],
        lambda f: [*f[:2], f[2][:-1]],
        lambda f: [f[0][:-1], *f[1:]],
        lambda f: [f[0] + f[1][:1], f[1][1:], f[2]],
        lambda f: [f[0] + b"\x00", *f[1:]],
    ],
    ids=[
        "drop-last",
        "keep-first",
        "no-frames",
        "swap-first-two",
        "swap-last-two",
        "duplicate-middle",
        "append-last-again",
        "append-first",
        "cut-last-frame",
        "short-middle-frame",
        "reframed",
        "oversized-frame",
    ],
)
def test_tampered_chunk_streams_fail(
    three_frames: list[bytes], tamper: Callable[[list[bytes]], list[bytes]]
) -> None:
    with pytest.raises(DecryptionError):
        open_all(tamper(three_frames))


def test_chunks_under_the_wrong_key_or_context_fail(three_frames: list[bytes]) -> None:
    with pytest.raises(DecryptionError):
        open_all(three_frames, dek=OTHER_DEK)
    with pytest.raises(DecryptionError):
        open_all(three_frames, context=dataclasses.replace(CONTEXT, version=4))
    with pytest.raises(DecryptionError):
        open_all(three_frames, dek=DEK[:16])


def test_single_values_and_chunks_cannot_stand_in_for_each_other() -> None:
    with pytest.raises(DecryptionError):
        open_all([seal(DEK, b"abc", CONTEXT)])
    with pytest.raises(DecryptionError):
        open_sealed(DEK, seal_chunks(DEK, b"abc", CONTEXT), CONTEXT)


def test_frames_stored_one_by_one_open_one_by_one() -> None:
    data = pseudo_random_bytes(2 * CHUNK_SIZE + 10)
    frames = list(iter_sealed_frames(DEK, data, CONTEXT))
    assert [len(frame) for frame in frames] == [sealed_frame_size()] * 2 + [10 + 29]
    opened = [
        open_frame(DEK, frame, CONTEXT, index, last=index == len(frames) - 1)
        for index, frame in enumerate(frames)
    ]
    assert b"".join(opened) == data


@pytest.mark.parametrize(
    ("index", "last"), [(1, False), (0, True), (2, True)], ids=["moved", "as-last", "as-third"]
)
def test_a_frame_claimed_at_the_wrong_position_fails(
    three_frames: list[bytes], index: int, *, last: bool
) -> None:
    with pytest.raises(DecryptionError):
        open_frame(DEK, three_frames[0], CONTEXT, index, last=last)


def test_iter_frames_copes_with_short_reads() -> None:
    data = pseudo_random_bytes(2 * CHUNK_SIZE + 5)
    stream = io.BytesIO(seal_chunks(DEK, data, CONTEXT))

    def trickle(size: int) -> bytes:
        return stream.read(min(size, 1000))

    assert open_all(list(iter_frames(trickle))) == data


def test_iter_frames_of_nothing_is_nothing() -> None:
    assert list(iter_frames(io.BytesIO(b"").read)) == []


# --- key wrapping ----------------------------------------------------------------------


@given(dek=st.binary(min_size=32, max_size=32), owner=st.uuids(), version=st.integers(0, 10))
def test_unwrap_inverts_wrap(dek: bytes, owner: uuid.UUID, version: int) -> None:
    wrapped = wrap_key(KEK, dek, owner_id=owner, kek_version=version)
    assert unwrap_key(KEK, wrapped, owner_id=owner, kek_version=version) == dek


@pytest.mark.parametrize(
    ("kek", "owner", "version"),
    [(KEK, uuid.UUID(int=8), 1), (KEK, OWNER, 2), (DEK, OWNER, 1), (KEK[:16], OWNER, 1)],
    ids=["wrong-owner", "wrong-version", "wrong-kek", "malformed-kek"],
)
def test_unwrap_under_anything_else_fails(kek: bytes, owner: uuid.UUID, version: int) -> None:
    wrapped = wrap_key(KEK, DEK, owner_id=OWNER, kek_version=1)
    with pytest.raises(DecryptionError):
        unwrap_key(kek, wrapped, owner_id=owner, kek_version=version)


@pytest.mark.parametrize("mangle", [lambda w: w[:-1], lambda w: w + b"\x00", lambda _: b""])
def test_malformed_wrapped_keys_fail(mangle: Callable[[bytes], bytes]) -> None:
    wrapped = wrap_key(KEK, DEK, owner_id=OWNER, kek_version=1)
    with pytest.raises(DecryptionError):
        unwrap_key(KEK, mangle(wrapped), owner_id=OWNER, kek_version=1)


def test_a_wrapped_key_is_not_a_sealed_value() -> None:
    wrapped = wrap_key(KEK, DEK, owner_id=OWNER, kek_version=1)
    with pytest.raises(DecryptionError):
        open_sealed(KEK, wrapped, CONTEXT)


def test_wrap_refuses_a_dek_of_the_wrong_size() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        wrap_key(KEK, DEK[:16], owner_id=OWNER, kek_version=1)
