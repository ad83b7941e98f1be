"""Every failure on a dashboard page becomes a page, never a JSON problem or a 500 trace.

These handlers sit on the dashboard's router, so the JSON API keeps its RFC 9457
problem documents. A form that breaks a rule is re-shown with an error summary by
its own controller; what reaches here is what no form can fix (not found, expired
form, too large an upload, a bad address).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

from litestar.exceptions import HTTPException

from pds import errors
from pds.dashboard.pages import page, see_other
from pds.dashboard.security import SIGN_IN_PATH, FormExpired, SignInNeeded, WrongPlace
from pds.db_failures import unavailable
from pds.web.problems import RETRY_SOON, domain_status

if TYPE_CHECKING:
    from litestar import Request, Response

log = logging.getLogger("pds.dashboard")
PREFIX: Final = "/dashboard/"

_HTTP_WORDS: Final = {
    400: ("There is a problem with this address", "Check the address, or go back and try again."),
    404: ("Page not found", "If you typed the web address, check it is correct."),
    405: ("This page cannot do that", "Go back and use the buttons on the page."),
    413: (
        "The file is too big",
        "Choose a file smaller than 10 MB. You can scan at a lower resolution to make it smaller.",
    ),
    429: ("Too many attempts", "Wait 15 minutes, then try again."),
}


def _problem(status: int, heading: str, message: str) -> Response[Any]:
    return page("problem.html", title=heading, status=status, heading=heading, message=message)


def on_sign_in_needed(_: Request[Any, Any, Any], __: SignInNeeded) -> Response[Any]:
    return see_other(SIGN_IN_PATH)


def on_wrong_place(_: Request[Any, Any, Any], exc: WrongPlace) -> Response[Any]:
    return see_other(exc.home)


def on_form_expired(_: Request[Any, Any, Any], __: FormExpired) -> Response[Any]:
    return _problem(
        403,
        "This page has expired",
        "For your security, forms stop working after you sign out or after a while. "
        "Go back, reload the page and try again. Nothing was changed.",
    )


def on_domain_error(_: Request[Any, Any, Any], exc: errors.DomainError) -> Response[Any]:
    status = domain_status(exc)
    if status == 404:
        return _problem(404, "Page not found", "It may have been deleted. Go back and try again.")
    heading = _HTTP_WORDS.get(status, ("There is a problem", ""))[0]
    return _problem(status, heading, exc.detail)


def on_http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status >= 500:
        log.error("server error %s: %s", status, exc.detail, exc_info=exc)
        return on_unexpected(_, exc)
    heading, message = _HTTP_WORDS.get(status, _HTTP_WORDS[400])
    return _problem(status, heading, message)


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if unavailable(exc) is not None:  # overloaded or out of reach: a moment, not a fault
        log.warning("database unavailable: %s %s (%r)", request.method, request.url.path, exc)
        response = _problem(
            503,
            "Sorry, the service is unavailable",
            "Try again in a few minutes. Nothing you entered has been saved unless the page "
            "said so.",
        )
        response.headers.update(RETRY_SOON)
        return response
    log.exception("unhandled error on a dashboard page", exc_info=exc)
    return _problem(
        500,
        "Sorry, there is a problem with the service",
        "Try again later. Nothing you entered has been saved unless the page said so.",
    )


def with_dashboard_pages(
    handlers: dict[type[Exception] | int, Any],
) -> dict[type[Exception] | int, Any]:
    """The app's handlers, but an address under /dashboard that matches no route (a
    malformed id, a typo) gets the dashboard's HTML page: routing fails before the
    dashboard router's own handlers could run."""
    api_handler = handlers[HTTPException]

    def handle(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
        if request.url.path.startswith(PREFIX):
            return on_http_error(request, exc)
        response: Response[Any] = api_handler(request, exc)
        return response

    return {**handlers, HTTPException: handle}


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    SignInNeeded: on_sign_in_needed,
    WrongPlace: on_wrong_place,
    FormExpired: on_form_expired,
    errors.DomainError: on_domain_error,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}
