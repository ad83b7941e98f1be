"""A typed, async Python SDK for service systems talking to a PDS.

``PdsClient`` does the whole conversation: discovery, pushed authorization requests
with PKCE and ``private_key_jwt``, the callback checks, DPoP-bound tokens (with server
nonces), reads under a grant (JSON or JWE), documents checked against their digest,
pushed consent requests and the event feed. See ``connectors/sdk/README.md``.
"""

from __future__ import annotations

from connectors.sdk.client import PdsClient
from connectors.sdk.dpop import DPoPSigner
from connectors.sdk.errors import (
    AccessDenied,
    AuthorizationResponseError,
    DiscoveryError,
    GrantRevoked,
    IntegrityError,
    InvalidClient,
    InvalidGrant,
    InvalidToken,
    NotFound,
    OAuthError,
    PdsError,
    RateLimited,
)
from connectors.sdk.keys import (
    generate_encryption_key,
    generate_signing_key,
    public_jwk,
    read_private_jwk,
    write_private_jwk,
)
from connectors.sdk.models import (
    AuthorizationStart,
    ClientToken,
    DisclosedItem,
    DocumentRef,
    Event,
    EventPage,
    Grant,
    GrantData,
    GrantView,
    ServerMetadata,
)

__all__ = [
    "AccessDenied",
    "AuthorizationResponseError",
    "AuthorizationStart",
    "ClientToken",
    "DPoPSigner",
    "DisclosedItem",
    "DiscoveryError",
    "DocumentRef",
    "Event",
    "EventPage",
    "Grant",
    "GrantData",
    "GrantRevoked",
    "GrantView",
    "IntegrityError",
    "InvalidClient",
    "InvalidGrant",
    "InvalidToken",
    "NotFound",
    "OAuthError",
    "PdsClient",
    "PdsError",
    "RateLimited",
    "ServerMetadata",
    "generate_encryption_key",
    "generate_signing_key",
    "public_jwk",
    "read_private_jwk",
    "write_private_jwk",
]
