"""A plain landing page until the dashboard exists: what this is and where to go."""

from __future__ import annotations

from litestar import MediaType, get

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Personal data store</title></head>
<body>
<main>
<h1>Personal data store</h1>
<p>Store evidence about yourself once. Council services and approved providers can read it
only with your permission, for the reason they gave, for as long as you allow.</p>
<ul>
<li><a href="/schema/openapi.json">API description (OpenAPI 3.1)</a></li>
<li><a href="/.well-known/oauth-authorization-server">For services: OAuth server metadata</a></li>
<li><a href="/healthz">Service status</a></li>
</ul>
</main>
</body>
</html>
"""


@get("/", operation_id="landing", media_type=MediaType.HTML, include_in_schema=False)
async def landing() -> str:
    return PAGE
