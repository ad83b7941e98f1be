"""C2SP signed notes and tlog checkpoints: how the log's root leaves the building.

A checkpoint (https://c2sp.org/tlog-checkpoint) is the log's signed statement
"at size N the root hash is R". It travels as a signed note
(https://c2sp.org/signed-note), the same wire format the Go checksum database
and the transparency-dev witnesses use, so auditors can check our checkpoints
with standard tools instead of trusting code we wrote. The size and the root
must always be taken from the same verified checkpoint: an RFC 9162 root does
not commit to its tree size on its own.

Only Ed25519 (signature type 0x01) is implemented. Signatures from keys the
caller does not know are skipped, as the spec requires, which leaves room for
witness cosignatures and a later ML-DSA key next to ours.

Failures in untrusted input raise ``NoteError``; mistakes in our own inputs
(a body to sign, a configured key) raise ``ValueError``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pds.audit.merkle import HASH_SIZE

if TYPE_CHECKING:
    from collections.abc import Iterable

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = [
    "MAX_NOTE_LENGTH",
    "MAX_SIGNATURES",
    "Checkpoint",
    "NoteError",
    "key_id",
    "open_checkpoint",
    "open_note",
    "parse_checkpoint",
    "parse_verifier_key",
    "sign_note",
    "verifier_key_string",
]

# The spec asks verifiers to cap signatures (at no fewer than 16); Go's note uses 100.
MAX_SIGNATURES: Final = 100
# Far above any checkpoint, small enough that a hostile note cannot cost much to scan.
MAX_NOTE_LENGTH: Final = 1 << 20

_ED25519: Final = b"\x01"
_KEY_ID_SIZE: Final = 4
_SIGNATURE_PREFIX: Final = "\u2014 "  # em dash, space
_MAX_TREE_SIZE: Final = 2**64 - 1
_CONTROL: Final = re.compile(r"[\x00-\x09\x0b-\x1f]")
_DECIMAL: Final = re.compile(r"0|[1-9][0-9]{0,19}", re.ASCII)
_HEX_KEY_ID: Final = re.compile(r"[0-9a-fA-F]{8}", re.ASCII)


class NoteError(Exception):
    """A note or checkpoint is malformed or not signed by a key we trust.

    The message names the failed rule for logs; callers should treat all alike.
    """

    code: ClassVar[str] = "invalid_note"


def _is_valid_name(name: str) -> bool:
    """Key names: non-empty, no Unicode spaces, no '+' (the verifier-key separator)."""
    return bool(name) and not any(c.isspace() or c == "+" or c < " " for c in name)


def _require_name(name: str) -> None:
    if not _is_valid_name(name):
        msg = f"invalid key name {name!r}"
        raise ValueError(msg)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _strict_b64decode(text: str, what: str) -> bytes:
    """Standard base64 with padding and only its canonical form, so one value has one text."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        msg = f"{what} is not valid base64"
        raise NoteError(msg) from e
    if _b64(data) != text:
        msg = f"{what} is not canonical base64"
        raise NoteError(msg)
    return data


def key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """The 4-byte key ID of an Ed25519 note key (c2sp.org/signed-note, "Ed25519 signatures").

    ``SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]``: binding the
    name and the signature type means the same key under another name or
    algorithm gets another ID.
    """
    _require_name(name)
    material = name.encode("utf-8") + b"\n" + _ED25519 + public_key.public_bytes_raw()
    return hashlib.sha256(material).digest()[:_KEY_ID_SIZE]


def verifier_key_string(name: str, public_key: Ed25519PublicKey) -> str:
    """``name+hex(key ID)+base64(0x01 || public key)``, the form Go tools and witnesses load."""
    encoded = _b64(_ED25519 + public_key.public_bytes_raw())
    return f"{name}+{key_id(name, public_key).hex()}+{encoded}"


def parse_verifier_key(vkey: str) -> tuple[str, Ed25519PublicKey]:
    """Read a configured verifier key; the embedded key ID must match, catching typos."""
    name, _, rest = vkey.partition("+")
    hex_id, _, encoded = rest.partition("+")  # base64 may itself contain '+'
    if not _is_valid_name(name) or not _HEX_KEY_ID.fullmatch(hex_id):
        msg = "malformed verifier key"
        raise ValueError(msg)
    try:
        raw = _strict_b64decode(encoded, "verifier key")
    except NoteError as e:
        raise ValueError(str(e)) from e
    if len(raw) != 1 + 32 or raw[:1] != _ED25519:
        msg = "verifier key is not an Ed25519 key"
        raise ValueError(msg)
    public_key = Ed25519PublicKey.from_public_bytes(raw[1:])
    if key_id(name, public_key) != bytes.fromhex(hex_id):
        msg = "verifier key ID does not match its name and key"
        raise ValueError(msg)
    return name, public_key


def _require_text(text: str, error: type[Exception]) -> None:
    """The spec's character rules: valid UTF-8, no control characters except newline."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:  # lone surrogates have no UTF-8 form
        msg = "note is not valid UTF-8"
        raise error(msg) from e
    if _CONTROL.search(text):
        msg = "note contains a control character"
        raise error(msg)


def sign_note(body: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """Sign ``body`` as a one-signature note: body, blank line, em-dash signature line.

    The body may contain empty lines (the spec allows it), but must end in a
    newline; the signature covers the body including that newline.
    """
    _require_name(name)
    _require_text(body, ValueError)
    if not body.endswith("\n"):
        msg = "note body must end with a newline"
        raise ValueError(msg)
    signature = private_key.sign(body.encode("utf-8"))
    blob = key_id(name, private_key.public_key()) + signature
    return f"{body}\n{_SIGNATURE_PREFIX}{name} {_b64(blob)}\n"


def _verifier_table(
    verifiers: Mapping[str, Ed25519PublicKey] | Iterable[tuple[str, Ed25519PublicKey]],
) -> dict[tuple[str, bytes], Ed25519PublicKey]:
    """Index trusted keys by (name, key ID), the pair a signature line names."""
    pairs = verifiers.items() if isinstance(verifiers, Mapping) else verifiers
    table: dict[tuple[str, bytes], Ed25519PublicKey] = {}
    for name, public_key in pairs:
        slot = (name, key_id(name, public_key))
        known = table.setdefault(slot, public_key)
        if known.public_bytes_raw() != public_key.public_bytes_raw():
            msg = f"two trusted keys share name and key ID {name}+{slot[1].hex()}"
            raise ValueError(msg)
    return table


def _split_note(note: str) -> tuple[str, list[str]]:
    """Separate the text from its signature lines at the *last* blank line."""
    if len(note) > MAX_NOTE_LENGTH:
        msg = "note is too long"
        raise NoteError(msg)
    _require_text(note, NoteError)
    split = note.rfind("\n\n")
    if split < 0:
        msg = "note has no signature block"
        raise NoteError(msg)
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        msg = "signature block must end with a newline"
        raise NoteError(msg)
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        msg = "note has too many signatures"
        raise NoteError(msg)
    return text, lines


def _parse_signature_line(line: str) -> tuple[str, bytes, bytes]:
    """``— <name> <base64(key ID || signature)>`` into (name, key ID, signature)."""
    if not line.startswith(_SIGNATURE_PREFIX):
        msg = "signature line must start with an em dash and a space"
        raise NoteError(msg)
    name, _, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
    if not _is_valid_name(name):
        msg = "signature line has an invalid key name"
        raise NoteError(msg)
    blob = _strict_b64decode(encoded, "signature")
    if len(blob) <= _KEY_ID_SIZE:
        msg = "signature is too short"
        raise NoteError(msg)
    return name, blob[:_KEY_ID_SIZE], blob[_KEY_ID_SIZE:]


def _verify(public_key: Ed25519PublicKey, signature: bytes, message: bytes, name: str) -> None:
    try:
        public_key.verify(signature, message)
    except InvalidSignature as e:
        msg = f"signature by trusted key {name} does not verify"
        raise NoteError(msg) from e


def open_note(
    note: str,
    verifiers: Mapping[str, Ed25519PublicKey] | Iterable[tuple[str, Ed25519PublicKey]],
) -> tuple[str, list[str]]:
    """Verify a signed note; return its text and the names of the keys that signed it.

    Follows c2sp.org/signed-note: signatures whose (name, key ID) matches no
    trusted key are ignored; a failing signature from a trusted key rejects the
    whole note; at least one trusted signature must verify. Every trusted
    signature is checked, even a repeat (Go's note skips repeats; the spec says
    MUST verify), and each key is reported once. ``verifiers`` maps names to
    keys or lists (name, key) pairs, so a name may have two keys in a rotation.
    """
    table = _verifier_table(verifiers)
    unverified_text, lines = _split_note(note)
    message = unverified_text.encode("utf-8")
    signed_by: list[str] = []
    seen: set[tuple[str, bytes]] = set()
    for name, kid, signature in [_parse_signature_line(line) for line in lines]:
        public_key = table.get((name, kid))
        if public_key is None:
            continue
        _verify(public_key, signature, message, name)
        if (name, kid) not in seen:
            seen.add((name, kid))
            signed_by.append(name)
    if not signed_by:
        msg = "note has no signature from a trusted key"
        raise NoteError(msg)
    return unverified_text, signed_by


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tlog checkpoint, the signed tree head of one log.

    The origin names the log, so one log's checkpoint cannot pass for another's.
    """

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Checked on construction so every Checkpoint has a valid body to sign.
        for line in (self.origin, *self.extensions):
            _require_line(line)
        if isinstance(self.size, bool) or not 0 <= self.size <= _MAX_TREE_SIZE:
            msg = "size must be an integer between 0 and 2**64 - 1"
            raise ValueError(msg)
        if len(self.root_hash) != HASH_SIZE:
            msg = f"root hash must be {HASH_SIZE} bytes"
            raise ValueError(msg)

    def body(self) -> str:
        """The note text: origin, size, base64 root, then any extension lines."""
        lines = (self.origin, str(self.size), _b64(self.root_hash), *self.extensions)
        return "".join(f"{line}\n" for line in lines)


def _require_line(line: str) -> None:
    """Checkpoint lines are non-empty and cannot smuggle in a line break."""
    if not line or "\n" in line:
        msg = "checkpoint lines must be non-empty single lines"
        raise ValueError(msg)
    _require_text(line, ValueError)


def _parse_size(text: str) -> int:
    if not _DECIMAL.fullmatch(text) or int(text) > _MAX_TREE_SIZE:
        msg = "tree size must be a decimal without leading zeros"
        raise NoteError(msg)
    return int(text)


def parse_checkpoint(body: str) -> Checkpoint:
    """Parse a verified note text strictly: any deviation means a different signer or a bug."""
    if not body.endswith("\n"):
        msg = "checkpoint must end with a newline"
        raise NoteError(msg)
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        msg = "checkpoint needs origin, size and root hash lines"
        raise NoteError(msg)
    origin, size, root, *extensions = lines
    parsed_size = _parse_size(size)
    root_hash = _strict_b64decode(root, "root hash")
    try:
        return Checkpoint(origin, parsed_size, root_hash, tuple(extensions))
    except ValueError as e:
        raise NoteError(str(e)) from e


def open_checkpoint(
    note: str,
    origin: str,
    verifiers: Mapping[str, Ed25519PublicKey] | Iterable[tuple[str, Ed25519PublicKey]],
) -> Checkpoint:
    """Verify, then parse, then check the origin: the whole trust step for one checkpoint."""
    body, _ = open_note(note, verifiers)
    checkpoint = parse_checkpoint(body)
    if checkpoint.origin != origin:
        msg = "checkpoint is for another log"
        raise NoteError(msg)
    return checkpoint
