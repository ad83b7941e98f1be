"""The client registry: who may use the connector API, for what, with which keys.

``manifest`` checks what a service team submits (pure), ``service`` stores it with its
audit entries, ``jwks`` gives the keys a client's assertions are verified with.
"""

from __future__ import annotations

from connectors.registry.jwks import JwksCache, JwksUnavailable, client_jwks, fetch_jwks
from connectors.registry.manifest import (
    ClientKind,
    InvalidManifest,
    JwkSet,
    Manifest,
    manifest_from_columns,
    manifest_to_columns,
    parse_manifest,
)
from connectors.registry.service import (
    ClientNotFound,
    ClientStatus,
    ClientStatusConflict,
    changed_fields,
    get_client,
    is_active,
    list_clients,
    register_client,
    reinstate_client,
    suspend_client,
    update_client,
)

__all__ = [
    "ClientKind",
    "ClientNotFound",
    "ClientStatus",
    "ClientStatusConflict",
    "InvalidManifest",
    "JwkSet",
    "JwksCache",
    "JwksUnavailable",
    "Manifest",
    "changed_fields",
    "client_jwks",
    "fetch_jwks",
    "get_client",
    "is_active",
    "list_clients",
    "manifest_from_columns",
    "manifest_to_columns",
    "parse_manifest",
    "register_client",
    "reinstate_client",
    "suspend_client",
    "update_client",
]
