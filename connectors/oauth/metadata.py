"""Authorization server metadata (RFC 8414) and the connector API's protected resource
metadata (RFC 9728), both built from the issuer identifier alone.

``issuer`` must equal the URL the metadata was fetched under (RFC 8414 §3.3), and
RFC 10070 ties every client assertion's ``aud`` to it, so everything derives from it.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlsplit

from connectors.client_auth import CLIENT_AUTH_ALGORITHMS
from connectors.dpop import DPOP_ALGORITHMS
from consent.requests import AUTHORIZATION_DETAILS_TYPE

GRANT_JWT_BEARER: Final = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GRANT_TYPES: Final = ("authorization_code", GRANT_JWT_BEARER, "client_credentials")
RESOURCE_PATH: Final = "/connect/v1"
RESOURCE_NAME: Final = "Personal data store connector API"
PROTECTED_RESOURCE_WELL_KNOWN: Final = "/.well-known/oauth-protected-resource"


def resource_identifier(issuer: str) -> str:
    """The connector API's identifier: the ``aud`` of every access token (RFC 9068 §3)."""
    return issuer + RESOURCE_PATH


def protected_resource_metadata_url(issuer: str) -> str:
    """Where the connector API's metadata lives: the well-known segment goes between the
    host and the resource identifier's path (RFC 9728 §3.1), not at the end."""
    parts = urlsplit(resource_identifier(issuer))
    return f"{parts.scheme}://{parts.netloc}{PROTECTED_RESOURCE_WELL_KNOWN}{parts.path}"


def endpoint(issuer: str, path: str) -> str:
    return issuer + path


def authorization_server_metadata(issuer: str) -> dict[str, Any]:
    """Everything a client library needs to talk to this server, and nothing it could misuse."""
    return {
        "issuer": issuer,
        "authorization_endpoint": endpoint(issuer, "/oauth/authorize"),
        "pushed_authorization_request_endpoint": endpoint(issuer, "/oauth/par"),
        "require_pushed_authorization_requests": True,
        "token_endpoint": endpoint(issuer, "/oauth/token"),
        "introspection_endpoint": endpoint(issuer, "/oauth/introspect"),
        "revocation_endpoint": endpoint(issuer, "/oauth/revoke"),
        "jwks_uri": endpoint(issuer, "/.well-known/jwks.json"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": list(CLIENT_AUTH_ALGORITHMS),
        "introspection_endpoint_auth_methods_supported": ["private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": list(CLIENT_AUTH_ALGORITHMS),
        "revocation_endpoint_auth_methods_supported": ["private_key_jwt"],
        "revocation_endpoint_auth_signing_alg_values_supported": list(CLIENT_AUTH_ALGORITHMS),
        "dpop_signing_alg_values_supported": list(DPOP_ALGORITHMS),
        "authorization_details_types_supported": [AUTHORIZATION_DETAILS_TYPE],
        "authorization_response_iss_parameter_supported": True,
        "scopes_supported": [],
        "subject_types_supported": ["pairwise"],
        "protected_resources": [resource_identifier(issuer)],
    }


def protected_resource_metadata(issuer: str) -> dict[str, Any]:
    """What a client needs to know before calling the connector API (RFC 9728 §2).

    ``resource`` is exactly the identifier the URL was built from (§3.3: a client must
    discard the document otherwise). No ``jwks_uri``: the API signs nothing of its own.
    Tokens travel only in the ``Authorization`` header, and only DPoP-bound (RFC 9449).
    """
    return {
        "resource": resource_identifier(issuer),
        "authorization_servers": [issuer],
        "bearer_methods_supported": ["header"],
        "scopes_supported": [],
        "authorization_details_types_supported": [AUTHORIZATION_DETAILS_TYPE],
        "dpop_signing_alg_values_supported": list(DPOP_ALGORITHMS),
        "dpop_bound_access_tokens_required": True,
        "resource_name": RESOURCE_NAME,
    }
