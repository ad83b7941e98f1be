"""Key-encryption-key (KEK) providers: wrap and unwrap citizens' DEKs, never hand out a KEK.

Keeping the KEK behind a small interface is what lets a local key file be
swapped for an HSM or KMS later without touching the vault: callers only ever
see wrapped DEKs tagged with the KEK version that wrapped them.

Rotation adds a version and keeps the old ones for unwrapping, so existing
wrapped DEKs stay readable until a background job rewraps them. Losing a KEK
version loses every DEK wrapped under it, so the file provider never drops a
version it has seen, either in memory or on disk.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import secrets
import stat
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Final, Protocol, runtime_checkable

from pds.vault.envelope import unwrap_key, wrap_key

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path
    from uuid import UUID

__all__ = [
    "KEK_BYTES",
    "KEY_FILE_FORMAT",
    "InMemoryKeyProvider",
    "KeyProvider",
    "KeyProviderError",
    "LocalKeyFileProvider",
    "WrappedKey",
]

KEK_BYTES: Final = 32
KEY_FILE_FORMAT: Final = "pds-kek/1"
_PRIVATE_MODE: Final = 0o600


class KeyProviderError(Exception):
    """The key store itself is unusable: missing, unsafe, corrupt, or lacking a version.

    Kept apart from DecryptionError because this is an operator problem to fix,
    not a sign of bad or foreign data. Messages never contain key material.
    """

    code: ClassVar[str] = "key_provider_error"


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A DEK as stored: opaque ciphertext plus the KEK version needed to open it."""

    kek_version: int
    ciphertext: bytes


@runtime_checkable
class KeyProvider(Protocol):
    """What the vault needs from a KEK store; no method may expose a KEK."""

    @property
    def current_version(self) -> int:
        """The KEK version that new wraps use."""
        ...

    def versions(self) -> list[int]:
        """Every version still able to unwrap, ascending."""
        ...

    def wrap(self, dek: bytes, owner_id: UUID) -> WrappedKey:
        """Wrap a DEK under the current KEK, bound to its owner."""
        ...

    def unwrap(self, wrapped: WrappedKey, owner_id: UUID) -> bytes:
        """Recover a DEK; DecryptionError if it was not wrapped for ``owner_id``."""
        ...

    def rotate(self) -> int:
        """Make a new current KEK version, keep the old ones, and return the new version."""
        ...


@dataclass(frozen=True, slots=True)
class _KeyRing:
    """An immutable snapshot, so a reader never sees a half-applied rotation."""

    current: int
    keys: Mapping[int, bytes] = field(repr=False)

    @classmethod
    def fresh(cls) -> _KeyRing:
        return cls(1, {1: os.urandom(KEK_BYTES)})

    def rotated(self) -> _KeyRing:
        version = max(self.keys) + 1
        return _KeyRing(version, {**self.keys, version: os.urandom(KEK_BYTES)})

    def merged(self, other: _KeyRing) -> _KeyRing:
        """Union two views of the store; a version with two different keys means split brain."""
        for version in self.keys.keys() & other.keys.keys():
            if not hmac.compare_digest(self.keys[version], other.keys[version]):
                msg = f"KEK version {version} differs between memory and the key store"
                raise KeyProviderError(msg)
        return _KeyRing(max(self.current, other.current), {**self.keys, **other.keys})


class _RingProvider:
    """Wrap, unwrap and rotate over a key ring; subclasses decide where the ring lives."""

    def __init__(self, ring: _KeyRing) -> None:
        self._ring = ring
        self._lock = threading.Lock()

    @property
    def current_version(self) -> int:
        return self._ring.current

    def versions(self) -> list[int]:
        return sorted(self._ring.keys)

    def wrap(self, dek: bytes, owner_id: UUID) -> WrappedKey:
        self._refresh()
        ring = self._ring  # one snapshot, so key and version label always match
        kek = ring.keys[ring.current]
        return WrappedKey(
            ring.current, wrap_key(kek, dek, owner_id=owner_id, kek_version=ring.current)
        )

    def unwrap(self, wrapped: WrappedKey, owner_id: UUID) -> bytes:
        version = wrapped.kek_version
        kek = self._kek(version)
        return unwrap_key(kek, wrapped.ciphertext, owner_id=owner_id, kek_version=version)

    def rotate(self) -> int:
        with self._lock:
            ring = self._latest().rotated()
            self._persist(ring)
            self._ring = ring
        return ring.current

    def _kek(self, version: int) -> bytes:
        """Look again at the store before giving up, in case another process rotated."""
        kek = self._ring.keys.get(version)
        if kek is None:
            with self._lock:
                self._ring = self._latest()
            kek = self._ring.keys.get(version)
        if kek is None:
            msg = f"KEK version {version} is not known to this key provider"
            raise KeyProviderError(msg)
        return kek

    def _latest(self) -> _KeyRing:
        return self._ring

    def _refresh(self) -> None:
        """Pick up a rotation made by another process before wrapping a new key."""

    def _persist(self, ring: _KeyRing) -> None:
        """Store a rotated ring before it is used; nothing to do when the ring is only in memory."""


class InMemoryKeyProvider(_RingProvider):
    """For tests and benchmarks only: the KEKs die with the process, and so would every DEK."""

    def __init__(self) -> None:
        super().__init__(_KeyRing.fresh())


class LocalKeyFileProvider(_RingProvider):
    """KEKs in a local JSON file readable only by its owner; the default for one-server installs.

    Build it with :meth:`open`. Safe for many threads in one process. Rotate from
    one process at a time (the CLI): a rotation re-reads the file first and
    other processes pick up new versions when they meet one, but two processes
    rotating at the same moment could still race.
    """

    def __init__(self, path: Path, ring: _KeyRing) -> None:
        super().__init__(ring)
        self._path = path
        self._seen = self._stamp()

    def _stamp(self) -> tuple[int, int]:
        try:
            status = self._path.stat()
        except FileNotFoundError:
            return (0, 0)
        return (status.st_mtime_ns, status.st_size)

    def _refresh(self) -> None:
        # A stat per wrap (only new citizens wrap) means a server running during
        # `pds keys rotate-kek` wraps new data keys under the new KEK straight away.
        stamp = self._stamp()
        if stamp != self._seen:
            with self._lock:
                self._ring = self._latest()
                self._seen = stamp

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self._path)!r})"

    @classmethod
    def open(cls, path: Path, *, create: bool = True) -> LocalKeyFileProvider:
        """Load the key file, creating it with a first KEK if allowed and absent."""
        try:
            ring = _read_key_file(path)
        except FileNotFoundError:
            if not create:
                msg = f"key file {path} does not exist"
                raise KeyProviderError(msg) from None
            ring = _create_key_file(path)
        return cls(path, ring)

    def _latest(self) -> _KeyRing:
        try:
            on_disk = _read_key_file(self._path)
        except FileNotFoundError:
            msg = f"key file {self._path} has disappeared"
            raise KeyProviderError(msg) from None
        return self._ring.merged(on_disk)

    def _persist(self, ring: _KeyRing) -> None:
        _guard_write(self._path, lambda: _replace_file(self._path, _encode_ring(ring)))


def _read_key_file(path: Path) -> _KeyRing:
    """Read through one descriptor, so the mode checked is the mode of the bytes read."""
    try:
        with path.open("rb") as handle:
            _check_private(path, os.fstat(handle.fileno()))
            raw = handle.read()
    except FileNotFoundError:
        raise
    except OSError as exc:
        msg = f"cannot read key file {path}: {exc.strerror or exc}"
        raise KeyProviderError(msg) from exc
    return _decode_ring(path, raw)


def _check_private(path: Path, status: os.stat_result) -> None:
    """Group or other access of any kind lets someone read or plant a KEK."""
    if not stat.S_ISREG(status.st_mode):
        msg = f"key file {path} is not a regular file"
        raise KeyProviderError(msg)
    if status.st_mode & 0o077:
        mode = stat.S_IMODE(status.st_mode)
        msg = (
            f"key file {path} is accessible to group or others (mode {mode:o});"
            f" restrict it with `chmod 600 {path}`"
        )
        raise KeyProviderError(msg)


def _decode_ring(path: Path, raw: bytes) -> _KeyRing:
    try:
        return _ring_from_document(json.loads(raw))
    except ValueError as exc:  # covers JSON, UTF-8 and base64 errors, none of which echo keys
        msg = f"key file {path} is malformed: {exc}"
        raise KeyProviderError(msg) from exc


def _ring_from_document(document: object) -> _KeyRing:
    if not isinstance(document, dict) or document.get("format") != KEY_FILE_FORMAT:
        msg = f'expected a JSON object with "format": "{KEY_FILE_FORMAT}"'
        raise ValueError(msg)
    entries = document.get("keys")
    if not isinstance(entries, dict) or not entries:
        msg = '"keys" must be a non-empty object'
        raise ValueError(msg)
    keys = {_decode_version(name): _decode_key(value) for name, value in entries.items()}
    current = document.get("current")
    if type(current) is not int or current not in keys:  # not bool, not 1.0
        msg = '"current" must be the version number of one of the keys'
        raise ValueError(msg)
    return _KeyRing(current, keys)


def _decode_version(name: str) -> int:
    version = int(name) if name.isascii() and name.isdecimal() else 0
    if version < 1 or str(version) != name:
        msg = "key versions must be positive integers without leading zeros"
        raise ValueError(msg)
    return version


def _decode_key(value: object) -> bytes:
    if not isinstance(value, str):
        msg = "keys must be base64url strings"
        raise ValueError(msg)  # one error type keeps every "malformed" report in one place
    key = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)
    if len(key) != KEK_BYTES:
        msg = f"each key must be {KEK_BYTES} bytes"
        raise ValueError(msg)
    return key


def _encode_ring(ring: _KeyRing) -> bytes:
    keys = {
        str(version): base64.urlsafe_b64encode(key).rstrip(b"=").decode("ascii")
        for version, key in sorted(ring.keys.items())
    }
    document = {"format": KEY_FILE_FORMAT, "current": ring.current, "keys": keys}
    return json.dumps(document, indent=2).encode("ascii") + b"\n"


def _create_key_file(path: Path) -> _KeyRing:
    ring = _KeyRing.fresh()
    try:
        _guard_write(path, lambda: _write_new_file(path, _encode_ring(ring)))
    except FileExistsError:
        return _read_key_file(path)  # another process created it first; use theirs
    _fsync_directory(path)
    return ring


def _guard_write(path: Path, write: Callable[[], None]) -> None:
    """Turn I/O failures into one clear error, but let a lost creation race through."""
    try:
        write()
    except FileExistsError:
        raise
    except OSError as exc:
        msg = f"cannot write key file {path}: {exc.strerror or exc}"
        raise KeyProviderError(msg) from exc


def _write_new_file(path: Path, data: bytes) -> None:
    """Create with O_EXCL and mode 0600, so the file is never readable by anyone else."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE_MODE)
    try:
        os.fchmod(fd, _PRIVATE_MODE)  # the umask could have taken the owner's bits too
        with os.fdopen(fd, "wb", closefd=False) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        path.unlink(missing_ok=True)  # a half-written key file would later read as corrupt
        raise
    finally:
        os.close(fd)


def _replace_file(path: Path, data: bytes) -> None:
    """Write a sibling then rename it over, so a crash leaves the old or new file, never half."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    _write_new_file(temporary, data)
    try:
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(path)


def _fsync_directory(path: Path) -> None:
    """Make the new directory entry durable too, not just the file's bytes."""
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
