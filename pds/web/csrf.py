"""Tokens that prove a form was served by this site to this browser (CSRF defence).

Every server-rendered form carries a hidden ``csrf_token``. For a signed-in browser
it is an HMAC of the session token, so it is worthless in any other browser and dies
with the session. Before sign-in there is no session, so the page first gives the
browser a random ``pds_csrf`` cookie and the token is an HMAC of that: another site
can neither read the cookie nor compute the token, so it cannot sign a victim in to
an account of its choosing (login CSRF). ``purpose`` keeps tokens for one kind of
form from being accepted by another. The secret comes from the caller (a key the
server derives), so this module stays free of any domain package.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Final

from litestar.datastructures import Cookie

CSRF_COOKIE: Final = "pds_csrf"
FIELD: Final = "csrf_token"
_MAX_COOKIE_LENGTH: Final = 100


def form_token(secret: bytes, purpose: str, binding: str) -> str:
    """The token for forms of ``purpose`` in the browser that holds ``binding``."""
    material = f"{purpose}\x1f{binding}".encode()
    digest = hmac.new(secret, material, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def token_matches(given: object, expected: str) -> bool:
    """Constant-time comparison that treats anything but a string as a mismatch."""
    return isinstance(given, str) and hmac.compare_digest(given, expected)


def browser_binding(cookie_value: str | None) -> str | None:
    """The pre-sign-in cookie's value when it is one this site could have set."""
    if not cookie_value or len(cookie_value) > _MAX_COOKIE_LENGTH:
        return None
    return cookie_value


def new_browser_cookie(*, secure: bool) -> Cookie:
    """A fresh random pre-sign-in cookie; it lives as long as the browser session."""
    return Cookie(
        key=CSRF_COOKIE,
        value=secrets.token_urlsafe(32),
        path="/",
        httponly=True,
        secure=secure,
        samesite="lax",
    )
