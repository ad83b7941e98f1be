"""The start page: what this is, and where citizens, auditors and services go."""

from __future__ import annotations

from litestar import get
from litestar.enums import MediaType
from litestar.response import Template


@get("/", operation_id="landing", media_type=MediaType.HTML, include_in_schema=False)
async def landing() -> Template:
    return Template(template_name="landing.html", context={"title": "Personal data store"})
