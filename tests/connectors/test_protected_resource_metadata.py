"""Protected resource metadata for ``/connect/v1`` (RFC 9728): the pure document, and the
same document found over HTTP the two ways a client finds it (the well-known URL built
from the resource identifier, and the 401 challenge's ``resource_metadata``).

Expected URLs are written out, not derived from the code under test.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest

from connectors.oauth.metadata import protected_resource_metadata, protected_resource_metadata_url

if TYPE_CHECKING:
    from litestar.testing import AsyncTestClient

ISSUER = "http://127.0.0.1:8000"  # the test settings' base_url
RESOURCE = "http://127.0.0.1:8000/connect/v1"
METADATA_URL = "http://127.0.0.1:8000/.well-known/oauth-protected-resource/connect/v1"
# RFC 9728 §2 (and the IANA registry it creates): a member outside it is a typo or a leak.
RFC_9728_MEMBERS = {
    "resource",
    "authorization_servers",
    "jwks_uri",
    "scopes_supported",
    "bearer_methods_supported",
    "resource_signing_alg_values_supported",
    "resource_name",
    "resource_documentation",
    "resource_policy_uri",
    "resource_tos_uri",
    "tls_client_certificate_bound_access_tokens",
    "authorization_details_types_supported",
    "dpop_signing_alg_values_supported",
    "dpop_bound_access_tokens_required",
    "signed_metadata",
}
AUTH_PARAM = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="([^"]*)"')


@pytest.mark.parametrize(
    ("issuer", "url"),
    [
        (
            "https://pds.example.gov.uk",
            "https://pds.example.gov.uk/.well-known/oauth-protected-resource/connect/v1",
        ),
        # RFC 9728 §3.1: the well-known segment goes after the host, before any path.
        (
            "https://council.example.gov.uk/pds",
            "https://council.example.gov.uk/.well-known/oauth-protected-resource/pds/connect/v1",
        ),
    ],
)
def test_metadata_url_inserts_the_well_known_segment_after_the_host(issuer: str, url: str) -> None:
    assert protected_resource_metadata_url(issuer) == url


def test_document_names_only_rfc_9728_members_and_no_signing_keys() -> None:
    document = protected_resource_metadata("https://pds.example.gov.uk")

    assert document["resource"] == "https://pds.example.gov.uk/connect/v1"
    assert document["authorization_servers"] == ["https://pds.example.gov.uk"]
    assert set(document) <= RFC_9728_MEMBERS
    assert "jwks_uri" not in document  # the API signs nothing, so it publishes no keys
    assert isinstance(document["resource_name"], str)
    assert document["resource_name"]


async def fetch_json(client: AsyncTestClient[Any], url: str) -> dict[str, Any]:
    """GET an absolute URL as a client would, insisting on 200 and a JSON body."""
    response = await client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == "application/json"
    body: dict[str, Any] = response.json()
    return body


async def test_served_document_describes_the_connector_api(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/.well-known/oauth-protected-resource/connect/v1")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == "application/json"
    assert "public" in response.headers["cache-control"]
    document = response.json()
    as_metadata = await fetch_json(client, ISSUER + "/.well-known/oauth-authorization-server")

    # §3.3: identical to the identifier the URL was built from, or the client discards it;
    # and the identifier every access token is issued for (its aud, RFC 9068).
    assert document["resource"] == RESOURCE
    assert document["authorization_servers"] == [ISSUER]
    assert document["bearer_methods_supported"] == ["header"]
    assert document["dpop_bound_access_tokens_required"] is True
    assert "jwks_uri" not in document
    assert set(document) <= RFC_9728_MEMBERS
    # What the AS says about the same things, said the same way here.
    shared = (
        "dpop_signing_alg_values_supported",
        "authorization_details_types_supported",
        "scopes_supported",
    )
    assert {name: document[name] for name in shared} == {name: as_metadata[name] for name in shared}


async def test_every_listed_authorization_server_publishes_itself_and_this_api(
    client: AsyncTestClient[Any],
) -> None:
    document = await fetch_json(client, METADATA_URL)
    assert document["authorization_servers"]

    for issuer in document["authorization_servers"]:
        # RFC 8414 §3.1 from the listed value alone (no path, so simply appended).
        as_metadata = await fetch_json(client, issuer + "/.well-known/oauth-authorization-server")
        assert as_metadata["issuer"] == issuer  # RFC 8414 §3.3
        assert document["resource"] in as_metadata["protected_resources"]  # RFC 9728 §4


def challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = header.partition(" ")
    return scheme, dict(AUTH_PARAM.findall(rest))


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-credentials"),
        pytest.param({"Authorization": "DPoP not-a-token", "DPoP": "x"}, id="forged-token"),
    ],
)
async def test_a_401_points_at_metadata_that_answers_for_the_same_resource(
    client: AsyncTestClient[Any], headers: dict[str, str]
) -> None:
    refused = await client.get("/connect/v1/events", headers=headers)
    assert refused.status_code == 401, refused.text

    scheme, params = challenge(refused.headers["www-authenticate"])
    assert scheme == "DPoP"
    assert params["resource_metadata"] == METADATA_URL
    document = await fetch_json(client, params["resource_metadata"])
    assert document["resource"] == RESOURCE
    # One resource for every path under it (it is the tokens' aud). RFC 9728 §3.3 as
    # published wants the request URL itself here; this is the path-prefix reading.
    assert (ISSUER + "/connect/v1/events").startswith(document["resource"] + "/")
    # The algorithms the challenge offers are the ones the metadata advertises.
    assert params["algs"].split() == document["dpop_signing_alg_values_supported"]
