"""What the PDS answers, checked before a service sees it: JWE opened only as agreed,
bodies decoded to the API's types, documents matched to their digest (RFC 9530)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TYPE_CHECKING, TypeVar

import msgspec
from joserfc import jwe
from joserfc.errors import JoseError

from connectors.sdk.errors import IntegrityError, PdsError

if TYPE_CHECKING:
    import httpx

    from connectors.sdk.keys import AsymmetricKey

S = TypeVar("S", bound=msgspec.Struct)
JOSE = "application/jose"
JWE_ALGORITHMS = ("ECDH-ES", "A256GCM")


def body(response: httpx.Response, key: AsymmetricKey | None, *, encrypted: bool) -> bytes:
    """The answer's bytes; opened first when we asked for a JWE (ECDH-ES + A256GCM to
    our ``key``, nothing else)."""
    if not encrypted:
        return response.content
    if key is None:
        raise PdsError("No encryption_key was given to open JWE.", code="no_encryption_key")
    kind = response.headers.get("content-type", "").split(";", 1)[0].strip()
    if kind != JOSE:
        raise PdsError(f"Asked for {JOSE}, got {kind!r}.", code="not_encrypted")
    try:
        opened = jwe.decrypt_compact(response.content, key, algorithms=list(JWE_ALGORITHMS))
    except (JoseError, ValueError) as exc:
        # Anything but ECDH-ES + A256GCM to our key, compression, a bad tag, garbage.
        raise PdsError(
            f"The JWE answer cannot be opened: {type(exc).__name__}.",
            status=response.status_code,
            code="undecryptable",
        ) from exc
    return opened.plaintext or b""


def decoded(response: httpx.Response, kind: type[S], content: bytes | None = None) -> S:
    """``content`` (default: the response's body) as ``kind``; a typed error when the
    server's answer is not what the API promises."""
    try:
        return msgspec.json.decode(response.content if content is None else content, type=kind)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        raise PdsError(
            f"The answer is not a valid {kind.__name__}: {exc}",
            status=response.status_code,
            code="bad_answer",
        ) from exc


def check_digest(content: bytes, header: str | None) -> None:
    """RFC 9530 ``Repr-Digest: sha-256=:<base64>:`` must match the bytes received."""
    if header is None:
        raise IntegrityError("The document came without a Repr-Digest.", code="no_digest")
    expected = None
    for member in header.split(","):
        name, _, value = member.strip().partition("=")
        if name.strip().lower() == "sha-256":
            try:
                expected = base64.b64decode(value.strip().strip(":"), validate=True)
            except ValueError as exc:  # binascii.Error is a ValueError
                raise IntegrityError("The Repr-Digest is malformed.", code="bad_digest") from exc
    actual = hashlib.sha256(content).digest()
    if expected is None or not hmac.compare_digest(expected, actual):
        raise IntegrityError("The document does not match its digest.", code="digest_mismatch")
