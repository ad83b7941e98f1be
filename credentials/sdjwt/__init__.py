"""SD-JWT (RFC 9901): issue, present and verify selectively disclosable JWTs.

Pure: plain values in, plain values out; the caller passes ``now`` (Unix seconds) and keys.

Wire form (§4): ``<issuer JWT>~<D1>~...~<Dn>~`` then, with key binding, a KB-JWT after
the last ``~``. A disclosure is base64url(JSON ``[salt, name, value]``) for an object
member or ``[salt, value]`` for an array element; the issuer JWT carries only its digest,
base64url(SHA-256(the disclosure's ASCII)), in an ``_sd`` array or as ``{"...": digest}``.
Disclosures are kept as received and never re-serialised: the digest covers those bytes.

Claim paths. Both ``issue`` and ``present`` name claims by path, as SD-JWT VC type
metadata does: a tuple of object keys (``str``) and array indexes (``int``), so
``("address", "locality")`` or ``("nationalities", 0)``. In ``present`` an index counts
the array's real elements (plain or disclosable), never the issuer's decoys, and a path
reveals the whole claim beneath it plus, as bare containers, the claims above it.

Verification is RFC 9901 §7.1 then §7.3, in order, stopping at the first failure, which
``InvalidCredential.check`` names. Whether a KB-JWT is required is the ``key_binding``
argument (a policy), never whether one was sent: with a policy a missing KB-JWT fails,
without one a KB-JWT that was sent fails, so stripping or adding one never passes.
"""

from __future__ import annotations

from credentials.sdjwt._core import (
    ALGORITHMS,
    DEFAULT_ALGORITHMS,
    KB_TYP,
    LEEWAY,
    MAX_LENGTH,
    SD_ALG,
    Check,
    ClaimPath,
    InvalidCredential,
    KeyBindingPolicy,
    SigningKey,
    Verified,
    b64url,
    b64url_decode,
    digest,
    encode_disclosure,
    new_salt,
    split,
    unverified_payload,
)
from credentials.sdjwt._issue import issue, present
from credentials.sdjwt._verify import verify

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHMS",
    "KB_TYP",
    "LEEWAY",
    "MAX_LENGTH",
    "SD_ALG",
    "Check",
    "ClaimPath",
    "InvalidCredential",
    "KeyBindingPolicy",
    "SigningKey",
    "Verified",
    "b64url",
    "b64url_decode",
    "digest",
    "encode_disclosure",
    "issue",
    "new_salt",
    "present",
    "split",
    "unverified_payload",
    "verify",
]
