"""Per-citizen envelope encryption, kept pure so it can be proved in isolation.

Each citizen has one data-encryption key (DEK). Values are sealed with
AES-256-GCM under that DEK, and the DEK itself is stored only wrapped under a
key-encryption key (KEK) that never leaves the key provider. Deleting every
wrapped copy of a DEK is how a citizen's data is erased (crypto-shredding).

Every ciphertext is bound, through the GCM associated data, to where it belongs
(citizen, item, item version, field, and for documents the chunk position), so
a row copied to another citizen or an older version pasted over a newer one
fails to open instead of silently decrypting.

Sealed layout (single value or one document frame)::

    format version (1 byte) | nonce (12 bytes) | ciphertext | tag (16 bytes)

Nonces are random. SP 800-38D caps random 96-bit nonces at 2**32 encryptions
per key; a DEK serves one citizen, and a 10 MiB document is only 160 frames, so
that bound is far away.

This module does no I/O and keeps no state: no key cache, so a shredded DEK
does not live on in memory here.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Final
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

__all__ = [
    "CHUNK_SIZE",
    "DEK_BYTES",
    "SEAL_OVERHEAD",
    "WRAPPED_KEY_BYTES",
    "DataKey",
    "DecryptionError",
    "SealContext",
    "generate_dek",
    "iter_frames",
    "iter_sealed_frames",
    "open_chunks",
    "open_frame",
    "open_sealed",
    "seal",
    "seal_chunks",
    "sealed_frame_size",
    "unwrap_key",
    "wrap_key",
]

DEK_BYTES: Final = 32
CHUNK_SIZE: Final = 64 * 1024

FORMAT_VERSION: Final = 1
NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16
SEAL_OVERHEAD: Final = 1 + NONCE_BYTES + TAG_BYTES
WRAPPED_KEY_BYTES: Final = SEAL_OVERHEAD + DEK_BYTES

ALGORITHM_ID: Final = b"A256GCM"
SEAL_TAG: Final = b"pds/v1/seal"
CHUNK_TAG: Final = b"pds/v1/chunk"
WRAP_TAG: Final = b"pds/v1/wrap"

_HEADER: Final = FORMAT_VERSION.to_bytes(1, "big")
_U64_MAX: Final = 2**64 - 1
_LAST: Final = b"\x01"
_NOT_LAST: Final = b"\x00"


class DecryptionError(Exception):
    """Any failure to open, with one fixed message so no oracle reveals which check failed.

    The underlying cause is chained (``raise ... from``) for logs, never put in the message.
    """

    code: ClassVar[str] = "decryption_failed"
    message: ClassVar[str] = "the data could not be decrypted"

    def __init__(self) -> None:
        super().__init__(self.message)


def generate_dek() -> bytes:
    """Return a fresh AES-256 key; one per citizen keeps erasure a single deletion."""
    return AESGCM.generate_key(bit_length=256)


def _u64(value: int, name: str) -> bytes:
    """Fixed-width integers keep the AAD canonical; refusing bools and negatives keeps it honest."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _U64_MAX:
        msg = f"{name} must be an integer between 0 and 2**64 - 1"
        raise ValueError(msg)
    return value.to_bytes(8, "big")


def _encode(*parts: bytes) -> bytes:
    """Length-prefix every part, so no two different part lists share an encoding."""
    return b"".join(len(part).to_bytes(4, "big") + part for part in parts)


_SEAL_HEAD: Final = _encode(SEAL_TAG, ALGORITHM_ID)
_CHUNK_HEAD: Final = _encode(CHUNK_TAG, ALGORITHM_ID)


@dataclass(frozen=True, slots=True)
class SealContext:
    """Where a sealed value belongs; any difference on open makes it fail.

    The AAD encodings are computed once here rather than on every seal, because
    for small values that encoding costs as much as the encryption itself.
    """

    citizen_id: UUID
    item_id: UUID
    version: int
    field: str
    _aad: bytes = dataclasses.field(init=False, repr=False, compare=False)
    _chunk_prefix: bytes = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Validating here makes a bad context fail when built, not half-way through a seal.
        if not isinstance(self.citizen_id, UUID) or not isinstance(self.item_id, UUID):
            msg = "citizen_id and item_id must be UUIDs"
            raise TypeError(msg)
        if not self.field:
            msg = "field must be a non-empty name"
            raise ValueError(msg)
        where = _encode(
            self.citizen_id.bytes,
            self.item_id.bytes,
            _u64(self.version, "version"),
            self.field.encode("utf-8"),  # lone surrogates have no canonical form, so they raise
        )
        # Length-prefixed parts concatenate: the tag's and algorithm's encoding is a constant.
        object.__setattr__(self, "_aad", _SEAL_HEAD + where)
        object.__setattr__(self, "_chunk_prefix", _CHUNK_HEAD + where)

    def aad(self) -> bytes:
        """The associated data for a single sealed value, tagged so it cannot pass as a chunk."""
        return self._aad


def _chunk_aad(prefix: bytes, index: int, *, last: bool) -> bytes:
    """Position and finality in the AAD are what make truncation and reordering detectable."""
    return prefix + _encode(_u64(index, "chunk index"), _LAST if last else _NOT_LAST)


def _aead(key: bytes) -> AESGCM:
    """Only AES-256 is accepted; AESGCM itself would also take 128 and 192-bit keys."""
    if len(key) != DEK_BYTES:
        msg = f"keys must be {DEK_BYTES} bytes"
        raise ValueError(msg)
    return AESGCM(key)


def _aead_for_open(key: bytes) -> AESGCM:
    """Opening fails one way only, even when the key itself is malformed."""
    try:
        return _aead(key)
    except (TypeError, ValueError) as exc:
        raise DecryptionError from exc


def _seal_with(aead: AESGCM, plaintext: bytes | memoryview, aad: bytes) -> bytes:
    """A fresh random nonce per call: no counter state to lose or share between workers."""
    nonce = os.urandom(NONCE_BYTES)
    return _HEADER + nonce + aead.encrypt(nonce, plaintext, aad)


def _open_with(aead: AESGCM, sealed: bytes, aad: bytes) -> bytes:
    """Check the framing before the tag, slicing a view so the ciphertext is not copied."""
    if len(sealed) < SEAL_OVERHEAD or sealed[0] != FORMAT_VERSION:
        raise DecryptionError
    view = memoryview(sealed)
    try:
        return aead.decrypt(view[1 : 1 + NONCE_BYTES], view[1 + NONCE_BYTES :], aad)
    except InvalidTag as exc:
        raise DecryptionError from exc


class DataKey:
    """A citizen's DEK made ready for one unit of work.

    Building the AES key schedule once per request, not once per field or
    frame, is a large share of the cost of sealing a value (see the vault
    benchmark). The object lives only as long as the request that unwrapped
    it; nothing caches it, so erasure still takes effect on the next request.
    """

    __slots__ = ("_aead",)

    def __init__(self, dek: bytes) -> None:
        self._aead = _aead_for_open(dek)

    def __repr__(self) -> str:
        return "DataKey(<redacted>)"

    def seal(self, plaintext: bytes, context: SealContext) -> bytes:
        """Encrypt one value, bound to its context."""
        return _seal_with(self._aead, plaintext, context.aad())

    def open(self, sealed: bytes, context: SealContext) -> bytes:
        """Decrypt a value from :meth:`seal`; every failure is the same DecryptionError."""
        return _open_with(self._aead, sealed, context.aad())

    def seal_frames(self, data: bytes, context: SealContext) -> Iterator[bytes]:
        """The frames of :func:`seal_chunks`, one at a time, for row-per-frame storage."""
        return _sealed_frames(self._aead, data, context)

    def open_frame(self, frame: bytes, context: SealContext, index: int, *, last: bool) -> bytes:
        """Open the frame at ``index`` of a chunked document (see :func:`open_frame`)."""
        return _open_frame(self._aead, frame, context._chunk_prefix, index, last=last)


def seal(dek: bytes, plaintext: bytes, context: SealContext) -> bytes:
    """Encrypt one value under the citizen's DEK, bound to its context."""
    return _seal_with(_aead(dek), plaintext, context.aad())


def open_sealed(dek: bytes, sealed: bytes, context: SealContext) -> bytes:
    """Decrypt a value from :func:`seal`; every failure is the same DecryptionError."""
    return _open_with(_aead_for_open(dek), sealed, context.aad())


def sealed_frame_size() -> int:
    """Bytes a reader asks for per frame; every frame but the last is exactly this long."""
    return CHUNK_SIZE + SEAL_OVERHEAD


def iter_sealed_frames(dek: bytes, data: bytes, context: SealContext) -> Iterator[bytes]:
    """Seal a document one frame at a time, for stores that keep a frame per row."""
    return _sealed_frames(_aead(dek), data, context)


def _sealed_frames(aead: AESGCM, data: bytes, context: SealContext) -> Iterator[bytes]:
    prefix = context._chunk_prefix
    view = memoryview(data)
    # An empty document is still one (empty, last) frame, so "no frames" means truncation.
    starts = range(0, max(len(view), 1), CHUNK_SIZE)
    last_index = len(starts) - 1
    for index, start in enumerate(starts):
        chunk = view[start : start + CHUNK_SIZE]
        yield _seal_with(aead, chunk, _chunk_aad(prefix, index, last=index == last_index))


def seal_chunks(dek: bytes, data: bytes, context: SealContext) -> bytes:
    """Seal a document as fixed-size frames so it can be decrypted while streaming."""
    return b"".join(iter_sealed_frames(dek, data, context))


def _open_frame(aead: AESGCM, frame: bytes, prefix: bytes, index: int, *, last: bool) -> bytes:
    """Bounding frame sizes keeps a hostile stream from making us decrypt huge blobs."""
    size = len(frame)
    if size > sealed_frame_size() or (not last and size != sealed_frame_size()):
        raise DecryptionError
    return _open_with(aead, frame, _chunk_aad(prefix, index, last=last))


def open_frame(dek: bytes, frame: bytes, context: SealContext, index: int, *, last: bool) -> bytes:
    """Open one frame fetched on its own (e.g. one row of a batch).

    The caller states the frame's position and whether it ends the document,
    from its own count of frames; a wrong claim fails, which is what catches
    frames removed, added or shuffled in storage.
    """
    return _open_frame(_aead_for_open(dek), frame, context._chunk_prefix, index, last=last)


def open_chunks(dek: bytes, frames: Iterable[bytes], context: SealContext) -> Iterator[bytes]:
    """Yield plaintext chunks as each frame verifies.

    Looking one frame ahead tells us which frame must carry the is-last flag. A
    stream that was truncated, extended or reordered raises DecryptionError, but
    possibly only after earlier chunks were yielded: a caller streaming to a
    client must abort the response on that error, not end it cleanly.
    """
    aead = _aead_for_open(dek)
    prefix = context._chunk_prefix
    remaining = iter(frames)
    current = next(remaining, None)
    if current is None:
        raise DecryptionError
    index = 0
    for following in remaining:
        yield _open_frame(aead, current, prefix, index, last=False)
        current, index = following, index + 1
    yield _open_frame(aead, current, prefix, index, last=True)


def _read_exact(read: Callable[[int], bytes], size: int) -> bytes:
    """Raw files and sockets may return short reads before the end; keep reading."""
    buffer = read(size)
    while 0 < len(buffer) < size:
        more = read(size - len(buffer))
        if not more:
            break
        buffer += more
    return buffer


def iter_frames(read: Callable[[int], bytes]) -> Iterator[bytes]:
    """Split a sealed document from a file-like ``read`` into frames for :func:`open_chunks`."""
    size = sealed_frame_size()
    while frame := _read_exact(read, size):
        yield frame
        if len(frame) < size:
            return


def _wrap_aad(owner_id: UUID, kek_version: int) -> bytes:
    """Its own tag, so a wrapped key can never be opened as a sealed value, or vice versa."""
    return _encode(WRAP_TAG, ALGORITHM_ID, owner_id.bytes, _u64(kek_version, "kek_version"))


def wrap_key(kek: bytes, dek: bytes, *, owner_id: UUID, kek_version: int) -> bytes:
    """Wrap a DEK under a KEK, bound to its owner and the KEK version used.

    AES-GCM rather than AES-KW because GCM can bind the owner, so one citizen's
    wrapped DEK cannot be swapped into another citizen's row. Random nonces cap
    one KEK at 2**32 wraps, far above the number of citizens; rotation resets it.
    """
    if len(dek) != DEK_BYTES:
        msg = f"a DEK must be {DEK_BYTES} bytes"
        raise ValueError(msg)
    return _seal_with(_aead(kek), dek, _wrap_aad(owner_id, kek_version))


def unwrap_key(kek: bytes, wrapped: bytes, *, owner_id: UUID, kek_version: int) -> bytes:
    """Recover a DEK from :func:`wrap_key`; any mismatch is a DecryptionError."""
    if len(wrapped) != WRAPPED_KEY_BYTES:
        raise DecryptionError
    return _open_with(_aead_for_open(kek), wrapped, _wrap_aad(owner_id, kek_version))
