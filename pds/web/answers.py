"""OpenAPI entries for success answers a handler's return type cannot describe.

A handler that returns a ``Response`` or a ``Stream`` leaves Litestar nothing to derive a
schema from, and binary bodies would be listed as JSON: these say what really comes back.
"""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec


def binary_answer(description: str, media_type: str = "application/octet-stream") -> ResponseSpec:
    """A byte stream (a document, an archive) of ``media_type``."""
    return ResponseSpec(
        data_container=bytes,
        media_type=media_type,
        description=description,
        generate_examples=False,
    )
