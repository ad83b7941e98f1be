"""The client manifest: every rule names its field; what is accepted round-trips."""

from __future__ import annotations

import base64
import contextlib
import copy
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc.jwk import ECKey, OKPKey, RSAKey

from connectors.models import Client
from connectors.registry.manifest import (
    MAX_MANIFEST_BYTES,
    ClientKind,
    InvalidManifest,
    Manifest,
    manifest_from_columns,
    manifest_to_columns,
    parse_manifest,
)
from consent.vocabulary import Purpose
from pds.errors import InvalidInput
from pds.vault.evidence_types import Category

EXAMPLES = Path(__file__).parents[2] / "examples" / "manifests"
EC = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
EC_2 = ECKey.generate_key("P-256", parameters={"kid": "ec-2"})
ED25519 = OKPKey.generate_key("Ed25519", parameters={"kid": "ed-1"})
X25519 = OKPKey.generate_key("X25519")
ENC_EC = ECKey.generate_key("P-256")
DROP = object()


def public(key: Any, **extra: Any) -> dict[str, Any]:
    return {**key.as_dict(private=False), **extra}


def private(key: Any, **extra: Any) -> dict[str, Any]:
    return {**key.as_dict(private=True), **extra}


BASE: dict[str, Any] = {
    "name": "Housing Options",
    "organisation": "Exampleton Borough Council",
    "kind": "council_service",
    "contact_email": "housing.digital@exampleton.gov.uk",
    "redirect_uris": ["https://housing.exampleton.gov.uk/pds/callback"],
    "jwks": {"keys": [public(EC)]},
    "purposes": ["dpv:ServiceProvision"],
    "categories": ["address", "household"],
}


def manifest(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE) | changes
    return {name: value for name, value in doc.items() if value is not DROP}


def parse(doc: Any) -> Manifest:
    return parse_manifest(json.dumps(doc).encode())


def refused(doc: Any) -> InvalidManifest:
    with pytest.raises(InvalidManifest) as caught:
        parse(doc)
    return caught.value


def assert_refused(doc: Any, field: str) -> None:
    error = refused(doc)
    assert error.field == field
    assert f"'{field}'" in error.detail or field == "manifest"
    assert "\n" not in error.detail


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def rsa_2048() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})


# --- the valid shape --------------------------------------------------------------------------


def test_the_minimal_manifest_parses_into_typed_values() -> None:
    parsed = parse(BASE)

    assert parsed.kind is ClientKind.COUNCIL_SERVICE
    assert parsed.purposes == (Purpose.SERVICE_PROVISION,)
    assert parsed.categories == (Category.ADDRESS, Category.HOUSEHOLD)
    assert parsed.jwks is not None
    assert parsed.jwks.keys == (public(EC),)
    assert parsed.jwks_uri is None
    assert parsed.credential_types == ()


@pytest.mark.parametrize("name", ["housing.json", "parking-provider.json"])
def test_the_example_manifests_are_valid_and_hold_no_private_key(name: str) -> None:
    raw = (EXAMPLES / name).read_bytes()

    parsed = parse_manifest(raw)

    assert parsed.jwks is not None
    for key in parsed.jwks.keys:
        assert key["kty"] == "EC"
        assert key["crv"] == "P-256"
    assert '"d"' not in raw.decode()


def test_the_example_kinds() -> None:
    housing = parse_manifest((EXAMPLES / "housing.json").read_bytes())
    parking = parse_manifest((EXAMPLES / "parking-provider.json").read_bytes())

    assert housing.kind is ClientKind.COUNCIL_SERVICE
    assert Purpose.HOUSING_WELFARE_MANAGEMENT in housing.purposes
    assert parking.kind is ClientKind.THIRD_PARTY


def test_every_optional_field_is_kept() -> None:
    parsed = parse(
        manifest(
            jwks=DROP,
            jwks_uri="https://keys.exampleton.gov.uk/jwks.json",
            credential_types=["https://credentials.exampleton.gov.uk/housing-register"],
            encryption_jwk=public(X25519, use="enc", alg="ECDH-ES"),
            webhook_url="https://housing.exampleton.gov.uk/pds/events",
            privacy_notice_url="https://www.exampleton.gov.uk/privacy#housing",
            logo_url="https://www.exampleton.gov.uk/logo.png",
        )
    )

    assert parsed.jwks is None
    assert parsed.jwks_uri == "https://keys.exampleton.gov.uk/jwks.json"
    assert parsed.encryption_jwk == public(X25519, use="enc", alg="ECDH-ES")
    assert parsed.privacy_notice_url == "https://www.exampleton.gov.uk/privacy#housing"


def test_the_error_is_invalid_input_with_the_rfc_7591_code() -> None:
    error = refused(manifest(kind="charity"))

    assert isinstance(error, InvalidInput)
    assert error.code == "invalid_client_metadata"
    assert error.extra == {"field": "kind"}


# --- shape (msgspec) --------------------------------------------------------------------------


def test_missing_and_unknown_fields_read_plainly() -> None:
    assert refused(manifest(name=DROP)).detail == "'name' is required."
    assert refused(manifest(colour="blue")).detail == "'colour' is not a manifest field."


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        (manifest(name=DROP), "name"),
        (manifest(surprise=1), "surprise"),
        (manifest(kind="charity"), "kind"),
        (manifest(name=42), "name"),
        (manifest(name="x" * 201), "name"),
        (manifest(redirect_uris=[]), "redirect_uris"),
        (manifest(redirect_uris=[f"https://a.example/{i}" for i in range(11)]), "redirect_uris"),
        (manifest(redirect_uris=["https://a.example/", 7]), "redirect_uris[1]"),
        (manifest(purposes=["dpv:Marketing"]), "purposes[0]"),
        (manifest(categories=["address", "finances"]), "categories[1]"),
        (manifest(jwks={"keys": []}), "jwks.keys"),
        (manifest(jwks={"keys": [public(EC)], "extra": True}), "jwks.extra"),
        (manifest(jwks={"keys": ["not a key"]}), "jwks.keys[0]"),
        (manifest(jwks={"keys": [public(EC, kid=f"k{i}") for i in range(11)]}), "jwks.keys"),
        (manifest(encryption_jwk="EC"), "encryption_jwk"),
        ([BASE], "manifest"),
    ],
)
def test_shape_errors_name_the_field(doc: Any, field: str) -> None:
    assert_refused(doc, field)


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe", b"[" * 100_000])
def test_what_is_not_json_is_refused_as_the_manifest(raw: bytes) -> None:
    with pytest.raises(InvalidManifest) as caught:
        parse_manifest(raw[: MAX_MANIFEST_BYTES - 1])
    assert caught.value.field == "manifest"


def test_a_huge_manifest_is_refused_before_parsing() -> None:
    raw = json.dumps(manifest(name="x" * MAX_MANIFEST_BYTES)).encode()

    with pytest.raises(InvalidManifest, match="larger than 64 KiB") as caught:
        parse_manifest(raw)
    assert caught.value.field == "manifest"


# --- redirect URIs and URLs -------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "https://housing.exampleton.gov.uk/pds/callback?tenant=1",
        "https://housing.exampleton.gov.uk:8443/cb",
        "http://127.0.0.1:8080/cb",
        "http://localhost/cb",
        "http://[::1]:9000/cb",
        "HTTPS://Housing.Exampleton.gov.uk/cb",
    ],
)
def test_redirect_uris_that_are_accepted(uri: str) -> None:
    assert parse(manifest(redirect_uris=[uri])).redirect_uris == (uri,)


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("http://housing.exampleton.gov.uk/cb", "must use https"),
        ("http://127.0.0.2/cb", "must use https"),
        ("http://localhost.evil.example/cb", "must use https"),
        ("https://housing.exampleton.gov.uk/cb#done", "fragment"),
        ("https://housing.exampleton.gov.uk/cb#", "fragment"),
        ("https://user:secret@housing.exampleton.gov.uk/cb", "user name or password"),
        ("https://user@housing.exampleton.gov.uk/cb", "user name or password"),
        ("https://*.exampleton.gov.uk/cb", "wildcard"),
        ("https://housing.exampleton.gov.uk/*", "wildcard"),
        ("/pds/callback", "absolute https URL"),
        ("https:///cb", "absolute https URL"),
        ("ftp://housing.exampleton.gov.uk/cb", "absolute https URL"),
        ("uk.gov.exampleton.housing:/cb", "absolute https URL"),
        ("javascript:alert(1)", "absolute https URL"),
        ("https://housing.exampleton.gov.uk:99999/cb", "not a valid URL"),
        ("https://[::1/cb", "not a valid URL"),
        ("https://exämpleton.gov.uk/cb", "ASCII"),
        ("https://housing.exampleton.gov.uk/call back", "ASCII"),
        ("https://housing_exampleton.gov.uk/cb", "invalid host"),
        ("https://[2001:db8::1]/cb", "invalid host"),
    ],
)
def test_redirect_uris_that_are_refused(uri: str, says: str) -> None:
    error = refused(manifest(redirect_uris=["https://fine.example/cb", uri]))

    assert error.field == "redirect_uris[1]"
    assert says in error.detail


def test_a_repeated_redirect_uri_is_refused() -> None:
    uri = "https://housing.exampleton.gov.uk/cb"
    assert_refused(manifest(redirect_uris=[uri, uri]), "redirect_uris[1]")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"jwks": DROP, "jwks_uri": "http://keys.example/jwks"}, "jwks_uri"),
        ({"jwks": DROP, "jwks_uri": "https://keys.example/jwks#k"}, "jwks_uri"),
        ({"webhook_url": "https://hooks.example/in#x"}, "webhook_url"),
        ({"webhook_url": "http://hooks.example/in"}, "webhook_url"),
        ({"privacy_notice_url": "https://a:b@example.com/privacy"}, "privacy_notice_url"),
        ({"privacy_notice_url": "mailto:dpo@example.com"}, "privacy_notice_url"),
        ({"logo_url": "http://cdn.example/logo.png"}, "logo_url"),
        ({"logo_url": "https://cdn.example/" + "a" * 2000}, "logo_url"),
    ],
)
def test_other_urls_must_be_https(changes: dict[str, Any], field: str) -> None:
    assert_refused(manifest(**changes), field)


def test_loopback_http_urls_are_allowed_for_development() -> None:
    parsed = parse(
        manifest(
            jwks=DROP,
            jwks_uri="http://127.0.0.1:9000/jwks.json",
            webhook_url="http://localhost:9000/events",
        )
    )
    assert parsed.jwks_uri == "http://127.0.0.1:9000/jwks.json"


# --- signing keys -----------------------------------------------------------------------------


@pytest.mark.parametrize("changes", [{"jwks_uri": "https://keys.example/jwks"}, {"jwks": DROP}])
def test_exactly_one_of_jwks_and_jwks_uri(changes: dict[str, Any]) -> None:
    error = refused(manifest(**changes))
    assert error.field == "jwks"
    assert error.detail == "'jwks' or 'jwks_uri' must be given, but not both."


def test_ed25519_and_rsa_keys_are_accepted(rsa_2048: RSAKey) -> None:
    keys = [public(ED25519, alg="EdDSA"), public(rsa_2048, alg="PS256", use="sig")]

    parsed = parse(manifest(jwks={"keys": keys}))

    assert parsed.jwks is not None
    assert parsed.jwks.keys == tuple(keys)


@pytest.mark.parametrize(
    "key",
    [
        private(EC),
        {**public(EC), "d": "AAAA"},
        {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
        {**public(EC), "p": "x", "q": "y"},
    ],
)
def test_private_and_symmetric_keys_are_refused(key: dict[str, Any]) -> None:
    error = refused(manifest(jwks={"keys": [public(EC_2), key]}))

    assert error.field == "jwks.keys[1]"
    assert "register only the public key" in error.detail


def test_private_rsa_members_are_refused(rsa_2048: RSAKey) -> None:
    assert_refused(manifest(jwks={"keys": [private(rsa_2048)]}), "jwks.keys[0]")


@pytest.mark.parametrize(
    ("key", "field"),
    [
        ({k: v for k, v in public(EC).items() if k != "kid"}, "jwks.keys[0].kid"),
        (public(EC, kid=""), "jwks.keys[0].kid"),
        (public(EC, kid="has space"), "jwks.keys[0].kid"),
        (public(EC, kid="k" * 129), "jwks.keys[0].kid"),
        (public(EC, kid=7), "jwks.keys[0].kid"),
        (public(ECKey.generate_key("P-384"), kid="p384"), "jwks.keys[0]"),
        (public(X25519, kid="x"), "jwks.keys[0]"),
        ({**public(EC), "kty": ["EC"]}, "jwks.keys[0]"),
        (public(EC, use="enc"), "jwks.keys[0].use"),
        (public(EC, key_ops=["sign", "verify"]), "jwks.keys[0].key_ops"),
        (public(EC, alg="RS256"), "jwks.keys[0].alg"),
        (public(EC, alg="none"), "jwks.keys[0].alg"),
        (public(EC, alg=["ES256"]), "jwks.keys[0].alg"),
        (public(EC, x="not base64!"), "jwks.keys[0].x"),
        (public(EC, y=None), "jwks.keys[0].y"),
        (public(EC, y=public(EC_2)["y"]), "jwks.keys[0]"),
        (public(ED25519, x=b64(b"short")), "jwks.keys[0]"),
    ],
)
def test_bad_signing_keys_name_the_member(key: dict[str, Any], field: str) -> None:
    assert_refused(manifest(jwks={"keys": [key]}), field)


def test_rsa_keys_must_be_2048_to_8192_bits() -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    small = weak.public_key().public_numbers()
    too_small = {"kty": "RSA", "kid": "r", "n": b64(small.n.to_bytes(128, "big")), "e": "AQAB"}
    too_big = {**too_small, "n": b64(b"\x80" + bytes(1024))}  # 8193 bits

    assert_refused(manifest(jwks={"keys": [too_small]}), "jwks.keys[0].n")
    assert_refused(manifest(jwks={"keys": [too_big]}), "jwks.keys[0].n")


def test_kids_must_be_unique() -> None:
    keys = [public(EC, kid="same"), public(EC_2, kid="same")]
    error = refused(manifest(jwks={"keys": keys}))

    assert error.field == "jwks.keys[1]"
    assert "repeats a kid" in error.detail


def test_members_the_pds_does_not_use_are_dropped() -> None:
    key = public(EC, x5c=["MIIB..."], ext=True, use="sig")

    parsed = parse(manifest(jwks={"keys": [key]}))

    assert parsed.jwks is not None
    assert parsed.jwks.keys == (public(EC, use="sig"),)


# --- the encryption key -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", [public(ENC_EC), public(X25519, kid="enc-1", use="enc", alg="ECDH-ES+A256KW")]
)
def test_encryption_keys_that_are_accepted(key: dict[str, Any]) -> None:
    assert parse(manifest(encryption_jwk=key)).encryption_jwk == key


@pytest.mark.parametrize(
    ("key", "field"),
    [
        (private(ENC_EC), "encryption_jwk"),
        (public(ED25519), "encryption_jwk"),
        (public(ECKey.generate_key("P-521")), "encryption_jwk"),
        (public(ENC_EC, use="sig"), "encryption_jwk.use"),
        (public(ENC_EC, alg="ES256"), "encryption_jwk.alg"),
        (public(ENC_EC, alg="RSA1_5"), "encryption_jwk.alg"),
        (public(ENC_EC, key_ops=["deriveKey"]), "encryption_jwk.key_ops"),
        (public(ENC_EC, kid=""), "encryption_jwk.kid"),
        (public(ENC_EC, y=public(EC)["y"]), "encryption_jwk"),
    ],
)
def test_encryption_keys_that_are_refused(key: dict[str, Any], field: str) -> None:
    assert_refused(manifest(encryption_jwk=key), field)


# --- text, email, purposes and categories -----------------------------------------------------


def test_text_is_trimmed_and_nfc_normalised() -> None:
    parsed = parse(manifest(name="  Cafe\u0301 Licensing ", organisation="Exampleton BC"))
    assert parsed.name == "Café Licensing"


@pytest.mark.parametrize("field", ["name", "organisation"])
@pytest.mark.parametrize(
    "text",
    ["   ", "Housing\nOptions", "Housing\u0007", "\u202eHousing", "Hous\u200bing", "A\u2028B"],
)
def test_text_with_control_or_formatting_characters_is_refused(field: str, text: str) -> None:
    assert_refused(manifest(**{field: text}), field)


@pytest.mark.parametrize(
    "email", ["dpo@exampleton.gov.uk", "first.last+pds@example.co.uk", " a@b.example "]
)
def test_plausible_emails_are_accepted(email: str) -> None:
    assert parse(manifest(contact_email=email)).contact_email == email.strip()


@pytest.mark.parametrize(
    "email",
    [
        "not-an-email",
        "a@b",
        "a@@b.example",
        "a b@example.com",
        ".a@example.com",
        "a..b@example.com",
        "a@-example.com",
        "a@example.c0m",
        "x" * 65 + "@example.com",
        "Name <a@example.com>",
    ],
)
def test_implausible_emails_are_refused(email: str) -> None:
    assert_refused(manifest(contact_email=email), "contact_email")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"purposes": ["dpv:ServiceProvision", "dpv:ServiceProvision"]}, "purposes[1]"),
        ({"categories": ["address", "address"]}, "categories[1]"),
        ({"categories": []}, "categories"),
        ({"purposes": []}, "purposes"),
        ({"purposes": [], "categories": []}, "purposes"),
        ({"credential_types": ["urn:example:a", "urn:example:a"]}, "credential_types[1]"),
        ({"credential_types": ["has space"]}, "credential_types[0]"),
        ({"credential_types": [""]}, "credential_types[0]"),
    ],
)
def test_scope_rules(changes: dict[str, Any], field: str) -> None:
    assert_refused(manifest(**changes), field)


def test_an_issuer_only_client_needs_no_purposes() -> None:
    parsed = parse(manifest(purposes=[], categories=[], credential_types=["urn:example:vct"]))
    assert parsed.purposes == ()
    assert parsed.credential_types == ("urn:example:vct",)


# --- columns and summaries --------------------------------------------------------------------


def test_columns_fit_the_client_row_and_read_back() -> None:
    parsed = parse_manifest((EXAMPLES / "housing.json").read_bytes())

    columns = manifest_to_columns(parsed)
    client = Client(client_id="c", status="active", **columns)

    assert columns["kind"] == "council_service"
    assert columns["purposes"][0] == "sector-publicservices:PublicServiceEligibilityAssessment"
    assert columns["jwks"] == {"keys": list(parsed.jwks.keys if parsed.jwks else ())}
    assert json.loads(json.dumps(columns)) == columns
    assert client.jwks_uri is None
    assert manifest_from_columns(columns) == parsed


# --- properties -------------------------------------------------------------------------------
# Documents near the valid shape (most are accepted), each field sometimes replaced by
# something arbitrary, so the property sees both sides of every rule.

_hosts = st.sampled_from(["exampleton.gov.uk", "127.0.0.1", "localhost", "[::1]", "a-b.example"])
_good_urls = st.builds("https://{}/{}".format, _hosts, st.text(alphabet="abc/?=&.~-", max_size=12))
_any_urls = st.one_of(
    _good_urls,
    st.builds(
        "{}://{}/{}".format,
        st.sampled_from(["https", "http", "ftp"]),
        _hosts,
        st.text(alphabet="abc/?=&#*%@", max_size=12),
    ),
    st.text(max_size=30),
)
_good_keys = st.sampled_from(
    [public(EC), public(EC_2, use="sig", alg="ES256"), public(ED25519, x5c=["MII"])]
)
_any_keys = st.one_of(_good_keys, st.sampled_from([private(EC_2), public(X25519), {}]))
_good_jwks = st.lists(_good_keys, min_size=1, max_size=3, unique_by=lambda key: key["kid"]).map(
    lambda keys: {"keys": keys}
)
_any_jwks = st.lists(_any_keys, max_size=3).map(lambda keys: {"keys": keys})
_good_text = st.text(
    alphabet=st.characters(categories=["L", "M", "N", "P", "Zs"]), min_size=1, max_size=60
)
_any_text = st.one_of(_good_text, st.text(max_size=210))
_purposes = st.sampled_from([p.value for p in Purpose])
_categories = st.sampled_from([c.value for c in Category])
_emails = st.sampled_from(["dpo@exampleton.gov.uk", " a.b+c@x-y.example ", "bad@", "@x.uk"])
_good_documents = st.fixed_dictionaries(
    {
        "name": _good_text,
        "organisation": _good_text,
        "kind": st.sampled_from(["council_service", "third_party"]),
        "contact_email": st.sampled_from(["dpo@exampleton.gov.uk", " a.b+c@x-y.example "]),
        "redirect_uris": st.lists(_good_urls, min_size=1, max_size=3, unique=True),
        "purposes": st.lists(_purposes, min_size=1, max_size=3, unique=True),
        "categories": st.lists(_categories, min_size=1, max_size=3, unique=True),
    },
    optional={
        "credential_types": st.lists(
            st.sampled_from(["urn:a", "https://v.example/b"]), unique=True
        ),
        "encryption_jwk": st.sampled_from([public(X25519), public(ENC_EC, use="enc")]),
        "webhook_url": _good_urls,
        "privacy_notice_url": _good_urls,
        "logo_url": _good_urls,
    },
)
_key_sources = st.one_of(
    _good_jwks.map(lambda jwks: {"jwks": jwks}), _good_urls.map(lambda uri: {"jwks_uri": uri})
)
_replacements: dict[str, st.SearchStrategy[Any]] = {
    "name": _any_text,
    "organisation": _any_text,
    "kind": st.text(max_size=20),
    "contact_email": st.one_of(_emails, st.emails(), st.text(max_size=20)),
    "redirect_uris": st.lists(_any_urls, max_size=3),
    "purposes": st.lists(st.one_of(_purposes, st.text(max_size=10)), max_size=3),
    "categories": st.lists(_categories, max_size=3),
    "jwks": _any_jwks,
    "jwks_uri": _any_urls,
    "credential_types": st.lists(st.text(max_size=12), max_size=2),
    "encryption_jwk": st.sampled_from([public(EC, use="sig"), private(ENC_EC), public(ED25519)]),
    "logo_url": _any_urls,
}


@st.composite
def _documents(draw: st.DrawFn) -> dict[str, Any]:
    doc = draw(_good_documents) | draw(_key_sources)
    for field in draw(st.lists(st.sampled_from(sorted(_replacements)), max_size=2, unique=True)):
        doc[field] = draw(_replacements[field])
    return doc


@settings(max_examples=300, deadline=None)
@given(_documents())
def test_any_accepted_manifest_round_trips(doc: dict[str, Any]) -> None:
    try:
        parsed = parse(doc)
    except InvalidManifest:
        return

    assert parse_manifest(msgspec.json.encode(parsed)) == parsed
    assert manifest_from_columns(manifest_to_columns(parsed)) == parsed


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=200)
    | st.recursive(st.none() | st.text() | st.integers(), st.lists, max_leaves=10).map(
        lambda value: json.dumps(value).encode()
    )
)
def test_any_bytes_give_a_manifest_or_invalid_manifest(raw: bytes) -> None:
    with contextlib.suppress(InvalidManifest):
        parse_manifest(raw)
