"""Refuse request bodies whose declared type the handler cannot read (415).

Litestar would try to parse any body as JSON for a JSON handler; a client that
sends form data or text by mistake should hear "wrong content type", not a
confusing parse error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.enums import RequestEncodingType

from pds.errors import UnsupportedMediaType

if TYPE_CHECKING:
    from litestar import Request

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def expected_encoding(request: Request[Any, Any, Any]) -> str | None:
    """The body encoding the matched handler declares, or None when it takes no body."""
    parameters = request.route_handler.parsed_fn_signature.parameters
    data = parameters.get("data")
    if data is None:
        return None
    media_type = getattr(data.kwarg_definition, "media_type", None) or RequestEncodingType.JSON
    return media_type.value if isinstance(media_type, RequestEncodingType) else str(media_type)


async def require_json_content_type(request: Request[Any, Any, Any]) -> None:
    if request.method not in _BODY_METHODS:
        return
    if expected_encoding(request) != RequestEncodingType.JSON.value:
        return
    declared = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if declared != "application/json" and not declared.endswith("+json"):
        raise UnsupportedMediaType(
            "Send the body as JSON with the header Content-Type: application/json.",
        )
