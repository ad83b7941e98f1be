"""Reading submitted forms: single text values, trimmed and bounded.

A browser sends every field as text; anything else (a repeated field, a file where
text belongs, a huge value) is treated as empty, and the page's own checks then ask
for it properly. So bad input yields an error message, never an exception.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from litestar.datastructures import FormMultiDict

MAX_TEXT: Final = 2000


def text(form: FormMultiDict, name: str, *, strip: bool = True) -> str:
    values = form.getall(name) if name in form else []
    if len(values) != 1 or not isinstance(values[0], str) or len(values[0]) > MAX_TEXT:
        return ""
    return values[0].strip() if strip else values[0]
