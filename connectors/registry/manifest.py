"""The client manifest (API.md "The client manifest"): what a service team writes to onboard.

Everything in it later bounds what the client may ask for, where codes may be sent and
which keys authenticate it, so it is checked once, strictly, before it is stored. Two
steps, as for ``authorization_details``: msgspec checks shape and types, then
``_checked`` applies the rules msgspec cannot express and returns the one spelling that
is stored (text NFC-normalised and trimmed, JWKs reduced to the members the PDS uses).
Every refusal is one ``InvalidManifest`` whose message and ``field`` name the culprit.
Pure: no database, no network.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Final, TypeAlias
from urllib.parse import urlsplit

import msgspec
from joserfc.jwk import import_key

from consent.vocabulary import Purpose
from pds.errors import InvalidInput
from pds.jose import LIBRARY_ERRORS, rsa_modulus_bits
from pds.vault.evidence_types import Category

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

MAX_MANIFEST_BYTES: Final = 64 * 1024
"""Ten 8192-bit RSA keys fit several times over; anything larger is not a manifest."""
MAX_REDIRECT_URIS: Final = 10
MAX_KEYS: Final = 10
MAX_TEXT: Final = 200
MAX_URL: Final = 2000
MAX_KID: Final = 128
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
"""Where plain http is allowed: a developer's own machine (RFC 8252 §7.3)."""

_ROOT: Final = "manifest"
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_RSA_BITS: Final = (2048, 8192)
_SIGNING_ALGS: Final[Mapping[str, frozenset[str]]] = {
    "EC": frozenset({"ES256"}),
    "RSA": frozenset({"RS256", "PS256"}),
    "OKP": frozenset({"EdDSA", "Ed25519"}),
}
_SIGNING_CURVES: Final[Mapping[str, str | None]] = {"EC": "P-256", "OKP": "Ed25519", "RSA": None}
_ENCRYPTION_CURVES: Final[Mapping[str, str]] = {"EC": "P-256", "OKP": "X25519"}
_ENCRYPTION_ALGS: Final = frozenset({"ECDH-ES", *(f"ECDH-ES+A{n}KW" for n in (128, 192, 256))})
_KEY_MEMBERS: Final[Mapping[str, tuple[str, ...]]] = {
    "EC": ("x", "y"),
    "OKP": ("x",),
    "RSA": ("n", "e"),
}
_METADATA_MEMBERS: Final = ("kid", "use", "alg", "key_ops")
_REFUSED_TEXT: Final = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
_BASE64URL: Final = re.compile(r"[A-Za-z0-9_-]+\Z")
_VISIBLE_ASCII: Final = re.compile(r"[\x21-\x7e]+\Z")
_HOST: Final = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\Z")
_EMAIL: Final = re.compile(
    r"(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})\Z"
)


class InvalidManifest(InvalidInput):
    """The manifest is malformed or breaks a rule; ``field`` points at the culprit.

    The code is RFC 7591 §3.2.2's ``invalid_client_metadata``, the name registration
    tooling already knows for exactly this refusal.
    """

    code = "invalid_client_metadata"
    title = "The client manifest is not valid"

    def __init__(self, detail: str, *, field: str) -> None:
        super().__init__(detail, field=field)
        self.field = field


def _bad(field: str, problem: str) -> InvalidManifest:
    """Every rule's refusal reads the same: the field, quoted, then what is wrong with it."""
    return InvalidManifest(f"'{field}' {problem}", field=field)


class ClientKind(StrEnum):
    """Council service areas and outside providers are shown, and trusted, differently."""

    COUNCIL_SERVICE = "council_service"
    THIRD_PARTY = "third_party"


Jwk: TypeAlias = dict[str, Any]
_Text = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT)]
_Url = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_URL)]


class JwkSet(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An inline JWK Set (RFC 7517 §5) of public signing keys; each key is checked by hand."""

    keys: Annotated[tuple[dict[str, Any], ...], msgspec.Meta(min_length=1, max_length=MAX_KEYS)]


class Manifest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A checked manifest; only ``parse_manifest`` should make one from untrusted input."""

    name: _Text
    organisation: _Text
    kind: ClientKind
    contact_email: Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
    redirect_uris: Annotated[
        tuple[_Url, ...], msgspec.Meta(min_length=1, max_length=MAX_REDIRECT_URIS)
    ]
    purposes: Annotated[tuple[Purpose, ...], msgspec.Meta(max_length=len(Purpose))]
    categories: Annotated[tuple[Category, ...], msgspec.Meta(max_length=len(Category))]
    jwks: JwkSet | None = None
    jwks_uri: _Url | None = None
    credential_types: Annotated[tuple[_Text, ...], msgspec.Meta(max_length=20)] = ()
    encryption_jwk: dict[str, Any] | None = None
    webhook_url: _Url | None = None
    privacy_notice_url: _Url | None = None
    logo_url: _Url | None = None


def parse_manifest(raw: bytes) -> Manifest:
    """Turn untrusted manifest JSON into a checked ``Manifest``; else ``InvalidManifest``."""
    if len(raw) > MAX_MANIFEST_BYTES:
        raise _bad(_ROOT, f"is larger than {MAX_MANIFEST_BYTES // 1024} KiB.")
    try:
        unchecked = msgspec.json.decode(raw, type=Manifest)
    except msgspec.ValidationError as exc:
        raise _invalid_from(exc) from exc
    except (msgspec.DecodeError, RecursionError) as exc:
        raise _bad(_ROOT, "is not valid JSON.") from exc
    return _checked(unchecked)


def manifest_to_columns(manifest: Manifest) -> dict[str, Any]:
    """The ``Client`` row's columns for this manifest (JSON-ready lists and dicts)."""
    # Through JSON, so every value is exactly what the JSON columns will hand back.
    columns: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(manifest))
    return columns


def manifest_from_columns(columns: Mapping[str, Any]) -> Manifest:
    """The manifest a stored row holds (already checked when it was registered)."""
    present = {n: columns[n] for n in Manifest.__struct_fields__ if columns[n] is not None}
    return msgspec.convert(present, type=Manifest)


def check_url(url: str, field: str, *, fragment: bool = True) -> str:
    """An absolute https URL (http only on a loopback host), without credentials in it.

    The JWKS fetcher checks a ``jwks_uri`` with this again before every request.
    """
    if not _VISIBLE_ASCII.match(url):
        raise _bad(field, "must be ASCII without spaces (write domain names in punycode).")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port
    except ValueError as exc:
        raise _bad(field, "is not a valid URL.") from exc
    if parts.scheme not in {"https", "http"} or not host:
        raise _bad(field, "must be an absolute https URL.")
    if "@" in parts.netloc:
        raise _bad(field, "must not contain a user name or password.")
    if host not in LOOPBACK_HOSTS and not _HOST.match(host):
        raise _bad(field, "has an invalid host name.")
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        raise _bad(field, "must use https (http only for 127.0.0.1, localhost or [::1]).")
    if not fragment and "#" in url:
        raise _bad(field, "must not contain a fragment (#...).")
    return url


def check_signing_keys(keys: Sequence[Any], field: str, *, skip_unusable: bool) -> list[Jwk]:
    """Public signing keys only, each with its own ``kid``; returns them as stored.

    ``skip_unusable`` is for a fetched JWKS, which may also publish encryption keys or
    key types the PDS does not use (RFC 7517 §5: ignore those); a private key is refused
    either way, since publishing one means it has leaked.
    """
    checked: list[Jwk] = []
    for index, jwk in enumerate(keys):
        where = f"{field}.keys[{index}]"
        if not isinstance(jwk, dict):
            raise _bad(where, "must be a JSON object.")
        _refuse_private(jwk, where)
        usable = _key_type(jwk, _SIGNING_CURVES) and jwk.get("use", "sig") == "sig"
        if skip_unusable and not usable:
            continue
        checked.append(_signing_key(jwk, where))
    if not checked:
        raise _bad(f"{field}.keys", "has no usable signing key.")
    _refuse_repeats([key["kid"] for key in checked], f"{field}.keys", "kid")
    return checked


def _checked(manifest: Manifest) -> Manifest:
    if (manifest.jwks is None) == (manifest.jwks_uri is None):
        raise _bad("jwks", "or 'jwks_uri' must be given, but not both.")
    _check_scope(manifest)
    jwks = manifest.jwks
    if jwks is not None:
        jwks = JwkSet(keys=tuple(check_signing_keys(jwks.keys, "jwks", skip_unusable=False)))
    encryption_jwk = manifest.encryption_jwk
    if encryption_jwk is not None:
        encryption_jwk = _encryption_key(encryption_jwk, "encryption_jwk")
    return msgspec.structs.replace(
        manifest,
        name=_plain_text(manifest.name, "name"),
        organisation=_plain_text(manifest.organisation, "organisation"),
        contact_email=_email(manifest.contact_email, "contact_email"),
        redirect_uris=_redirect_uris(manifest.redirect_uris),
        jwks=jwks,
        jwks_uri=_optional_url(manifest.jwks_uri, "jwks_uri", fragment=False),
        credential_types=_credential_types(manifest.credential_types),
        encryption_jwk=encryption_jwk,
        webhook_url=_optional_url(manifest.webhook_url, "webhook_url", fragment=False),
        privacy_notice_url=_optional_url(manifest.privacy_notice_url, "privacy_notice_url"),
        logo_url=_optional_url(manifest.logo_url, "logo_url"),
    )


def _check_scope(manifest: Manifest) -> None:
    """Purposes and categories only mean something together; an issuer may need neither."""
    _refuse_repeats(manifest.purposes, "purposes", "purpose")
    _refuse_repeats(manifest.categories, "categories", "category")
    if bool(manifest.purposes) != bool(manifest.categories):
        field = "categories" if manifest.purposes else "purposes"
        other = "purposes" if manifest.purposes else "categories"
        raise _bad(field, f"must not be empty when '{other}' is given.")
    if not manifest.purposes and not manifest.credential_types:
        raise _bad("purposes", "must not be empty unless the client only issues credentials.")


def _refuse_repeats(values: Iterable[object], field: str, noun: str) -> None:
    seen: set[object] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise _bad(f"{field}[{index}]", f"repeats a {noun}.")
        seen.add(value)


def _plain_text(text: str, field: str) -> str:
    """One spelling, and nothing that could disguise the consent screen."""
    tidy = unicodedata.normalize("NFC", text.strip())
    if not tidy or len(tidy) > MAX_TEXT:
        raise _bad(field, f"must be 1 to {MAX_TEXT} characters.")
    if any(unicodedata.category(ch) in _REFUSED_TEXT for ch in tidy):
        raise _bad(field, "must be plain text without control or formatting characters.")
    return tidy


def _email(address: str, field: str) -> str:
    tidy = address.strip()
    match = _EMAIL.match(tidy)
    if match is None or len(match["local"]) > 64:
        raise _bad(field, "must be an email address.")
    return tidy


def _redirect_uris(uris: tuple[str, ...]) -> tuple[str, ...]:
    """Exact strings, compared exactly at /oauth/authorize (RFC 9700 §4.1.3): no patterns."""
    for index, uri in enumerate(uris):
        where = f"redirect_uris[{index}]"
        if "*" in uri:
            raise _bad(where, "must not contain a wildcard (*).")
        check_url(uri, where, fragment=False)
    _refuse_repeats(uris, "redirect_uris", "redirect URI")
    return uris


def _optional_url(url: str | None, field: str, *, fragment: bool = True) -> str | None:
    return None if url is None else check_url(url, field, fragment=fragment)


def _credential_types(vcts: tuple[str, ...]) -> tuple[str, ...]:
    for index, vct in enumerate(vcts):
        if not _VISIBLE_ASCII.match(vct):
            raise _bad(f"credential_types[{index}]", "must be a vct without spaces.")
    _refuse_repeats(vcts, "credential_types", "credential type")
    return vcts


def _refuse_private(jwk: Mapping[str, Any], field: str) -> None:
    if _PRIVATE_MEMBERS & jwk.keys():
        raise _bad(field, "is a private or symmetric key; register only the public key.")


def _key_type(jwk: Mapping[str, Any], curves: Mapping[str, str | None]) -> str | None:
    """The ``kty`` if it and its curve are among ``curves`` (RSA has no curve), else None."""
    kty = jwk.get("kty")
    if not isinstance(kty, str) or kty not in curves or jwk.get("crv") != curves[kty]:
        return None
    return kty


def _signing_key(jwk: Mapping[str, Any], field: str) -> Jwk:
    kty = _key_type(jwk, _SIGNING_CURVES)
    if kty is None:
        raise _bad(field, "must be an EC P-256, RSA or OKP Ed25519 public key.")
    _check_kid(jwk.get("kid"), f"{field}.kid")
    if jwk.get("use", "sig") != "sig":
        raise _bad(f"{field}.use", 'must be "sig" (or left out).')
    if "key_ops" in jwk and jwk["key_ops"] != ["verify"]:
        raise _bad(f"{field}.key_ops", 'must be ["verify"] (or left out).')
    _check_alg(jwk, field, _SIGNING_ALGS[kty])
    return _importable(jwk, kty, field)


def _encryption_key(jwk: Mapping[str, Any], field: str) -> Jwk:
    _refuse_private(jwk, field)
    kty = _key_type(jwk, _ENCRYPTION_CURVES)
    if kty is None:
        raise _bad(field, "must be an EC P-256 or OKP X25519 public key.")
    if "kid" in jwk:
        _check_kid(jwk["kid"], f"{field}.kid")
    if jwk.get("use", "enc") != "enc":
        raise _bad(f"{field}.use", 'must be "enc" (or left out).')
    if "key_ops" in jwk:
        raise _bad(f"{field}.key_ops", "is not used; leave it out.")
    _check_alg(jwk, field, _ENCRYPTION_ALGS)
    return _importable(jwk, kty, field)


def _check_alg(jwk: Mapping[str, Any], field: str, allowed: frozenset[str]) -> None:
    """A key that names its ``alg`` is used with that one only (RFC 8725 §3.1)."""
    if "alg" in jwk and not (isinstance(jwk["alg"], str) and jwk["alg"] in allowed):
        raise _bad(f"{field}.alg", f"must be one of: {', '.join(sorted(allowed))}.")


def _check_kid(kid: Any, field: str) -> None:
    if not isinstance(kid, str) or len(kid) > MAX_KID or not _VISIBLE_ASCII.match(kid):
        raise _bad(field, f"must be 1 to {MAX_KID} visible ASCII characters.")


def _importable(jwk: Mapping[str, Any], kty: str, field: str) -> Jwk:
    """Only the members the PDS uses, each well-formed, and a key the library accepts.

    Other members (``x5c``, ``ext``...) are dropped, so what is stored is what was checked.
    """
    public: Jwk = {"kty": kty}
    for name in _KEY_MEMBERS[kty]:
        value = jwk.get(name)
        if not isinstance(value, str) or not _BASE64URL.match(value):
            raise _bad(f"{field}.{name}", "must be base64url text.")
        public[name] = value
    if "crv" in jwk:
        public["crv"] = jwk["crv"]
    # Sized before import: joserfc only warns about small RSA keys.
    if kty == "RSA" and not _RSA_BITS[0] <= rsa_modulus_bits(public["n"]) <= _RSA_BITS[1]:
        raise _bad(f"{field}.n", "must be an RSA modulus of 2048 to 8192 bits.")
    try:
        import_key(public)
    except LIBRARY_ERRORS as exc:
        raise _bad(field, "is not a valid public key.") from exc
    return public | {name: jwk[name] for name in _METADATA_MEMBERS if name in jwk}


_AT_PATH: Final = " - at `$"
_NAMED_FIELD: Final = re.compile(r"field `(?P<name>[^`]{1,64})`\Z")
_MAX_ECHO: Final = 200


def _invalid_from(exc: msgspec.ValidationError) -> InvalidManifest:
    """Name the field msgspec complained about, as a path inside the manifest."""
    message, at, tail = str(exc).rpartition(_AT_PATH)
    if not at:
        message, tail = tail, ""
    path = tail.removesuffix("`").removeprefix(".")
    named = _NAMED_FIELD.search(message)
    if named:
        path = f"{path}.{named['name']}" if path else named["name"]
    path = path or _ROOT
    if message.startswith("Object missing required field"):
        return _bad(path, "is required.")
    if message.startswith("Object contains unknown field"):
        return _bad(path, "is not a manifest field.")
    reason = message.replace("`", "")[:_MAX_ECHO]
    return InvalidManifest(f"'{path}': {reason}.", field=path)  # msgspec's words, after a colon


__all__ = [
    "LOOPBACK_HOSTS",
    "MAX_MANIFEST_BYTES",
    "ClientKind",
    "InvalidManifest",
    "JwkSet",
    "Manifest",
    "check_signing_keys",
    "check_url",
    "manifest_from_columns",
    "manifest_to_columns",
    "parse_manifest",
]
