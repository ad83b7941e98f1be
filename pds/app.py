"""The composition root: the only module that wires every area into one app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from litestar.datastructures import State
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

import connectors.oauth
import pds
from connectors.api.data_front import plain_read
from connectors.api.routes import ConnectorController
from connectors.api.unit import ResourceServer
from connectors.credentials.routes import CredentialIssuerController
from connectors.oauth.pages import PAGE_HANDLERS
from connectors.oauth.routes import OAuthController, authorization_server, protected_resource
from consent.expiry import sweep_forever
from consent.keys import ensure_token_key
from consent.routes import ConsentRequestController, GrantController
from credentials.routes import ROUTES as CREDENTIAL_ROUTES
from pds.accounts.routes import AccountController
from pds.accounts.service import AccountPolicy
from pds.audit.background import sequence_in_background
from pds.audit.routes import AuditController, my_access_log
from pds.audit.sequencer import log_origin
from pds.dashboard.errors import with_dashboard_pages
from pds.dashboard.routes import TEMPLATES as DASHBOARD_TEMPLATES
from pds.dashboard.routes import dashboard_router
from pds.db import open_database
from pds.keys.provider import LocalKeyFileProvider
from pds.keys.routes import jwks
from pds.logs import configure_logging
from pds.settings import Settings, log_level_number, prepare_data_dir
from pds.vault.routes import EvidenceController, export, list_evidence_types
from pds.web.context import PdsLitestar, make_before_send
from pds.web.deps import DEPENDENCIES
from pds.web.health import healthz, readyz
from pds.web.landing import landing
from pds.web.media import require_json_content_type
from pds.web.problems import EXCEPTION_HANDLERS

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from litestar import Litestar

    from pds.db import Database
    from pds.keys.provider import KeyProvider

log = logging.getLogger("pds.app")

MAX_JSON_BODY_BYTES = 1024 * 1024
WEB_DIR = Path(__file__).parent / "web"
OAUTH_TEMPLATES = Path(connectors.oauth.__file__).parent / "templates"


KEK_FILE = "kek.json"


def create_app(
    settings: Settings | None = None,
    *,
    keys: KeyProvider | None = None,
    account_policy: AccountPolicy | None = None,
) -> Litestar:
    """Build the app for ``settings`` (read from the environment when omitted).

    ``keys`` and ``account_policy`` default to the real ones (the local key file
    in the data folder, production password hashing); tests pass their own.
    """
    settings = settings or Settings.from_env()
    configure_logging(log_level_number(settings))
    db = open_database(settings)
    keys = keys or LocalKeyFileProvider.open(prepare_data_dir(settings) / KEK_FILE)

    lifespan = (
        [audit_sequencer(db, keys, settings), expiry_sweeper(db, keys, settings)]
        if settings.audit_sequencer
        else []
    )

    resource_server = ResourceServer.for_database(db, rate_limit=settings.connect_rate_limit)

    async def dispose_database() -> None:
        await resource_server.close()
        await db.dispose()

    async def make_token_key() -> None:
        await ensure_token_key(db, keys)

    app = PdsLitestar(
        route_handlers=[
            landing,
            healthz,
            readyz,
            AccountController,
            EvidenceController,
            export,
            list_evidence_types,
            AuditController,
            my_access_log,
            jwks,
            authorization_server,
            protected_resource,
            OAuthController,
            *PAGE_HANDLERS,
            GrantController,
            ConsentRequestController,
            ConnectorController,
            CredentialIssuerController,
            *CREDENTIAL_ROUTES,
            dashboard_router(),
            create_static_files_router(
                path="/static", directories=[WEB_DIR / "static"], include_in_schema=False
            ),
        ],
        template_config=TemplateConfig(
            directory=[WEB_DIR / "templates", OAUTH_TEMPLATES, DASHBOARD_TEMPLATES],
            engine=JinjaTemplateEngine,
        ),
        dependencies=DEPENDENCIES,
        state=State(
            {
                "settings": settings,
                "db": db,
                "key_provider": keys,
                "account_policy": account_policy or AccountPolicy(),
                "resource_server": resource_server,
            }
        ),
        exception_handlers=with_dashboard_pages(EXCEPTION_HANDLERS),
        before_send=[make_before_send(https=settings.secure_cookies)],
        before_request=require_json_content_type,
        on_startup=[make_token_key],
        on_shutdown=[dispose_database],
        lifespan=lifespan,
        request_max_body_size=MAX_JSON_BODY_BYTES,
        openapi_config=openapi_config(),
        logging_config=None,  # ours: JSON lines with the request id (pds.logs)
        debug=False,
    )
    app.front_doors = (plain_read,)
    return app


def audit_sequencer(
    db: Database, keys: KeyProvider, settings: Settings
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """Run the sequencer beside the server; several servers take turns (see sequencer)."""

    @asynccontextmanager
    async def running(_: Litestar) -> AsyncIterator[None]:
        origin = log_origin(settings.base_url)
        task = asyncio.create_task(sequence_in_background(db, keys, origin))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return running


def expiry_sweeper(
    db: Database, keys: KeyProvider, settings: Settings
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """Record grants that ran out unused (see consent.expiry); any number may run."""

    @asynccontextmanager
    async def running(_: Litestar) -> AsyncIterator[None]:
        task = asyncio.create_task(sweep_forever(db, keys, settings.base_url))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return running


def openapi_config() -> OpenAPIConfig:
    """Only the JSON document is served: UI renderers load scripts our CSP forbids."""
    return OpenAPIConfig(
        title="PDS — personal data store",
        version=pds.__version__,
        description=(
            "A personal data store for local-council digital services. Errors are "
            "RFC 9457 problem documents (application/problem+json) with a stable `code`."
        ),
        path="/schema",
        render_plugins=[JsonRenderPlugin()],
    )
