"""The auditor's search form: read into an ``EntryFilter``, or errors saying what to fix.

Dates are whole days in UTC (from the start of the first to the end of the last), the
unit an auditor asks about; the JSON API takes exact times for anything finer.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from pds.audit.entry import Action, Outcome
from pds.audit.search import EntryFilter
from pds.audit.wording import ACTION_LABELS
from pds.dashboard.forms import text
from pds.dashboard.pages import FieldError

if TYPE_CHECKING:
    from litestar.datastructures import FormMultiDict

NAMES: Final = ("citizen", "client", "action", "outcome", "from", "to")
ACTION_CHOICES: Final = tuple((a.value, ACTION_LABELS[a]) for a in Action)
OUTCOME_CHOICES: Final = tuple((o.value, o.value.capitalize()) for o in Outcome)


@dataclass
class SearchForm:
    filters: EntryFilter = field(default_factory=EntryFilter)
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)

    def hidden(self) -> list[tuple[str, str]]:
        """The filter again as hidden fields, for the next page and the CSV download."""
        pairs: list[tuple[str, str]] = []
        for name in NAMES:
            value = self.values.get(name)
            if isinstance(value, tuple):
                pairs += [
                    (f"{name}-{p}", v) for p, v in zip(("day", "month", "year"), value, strict=True)
                ]
            elif value:
                pairs.append((name, value))
        return pairs


def read_search(form: FormMultiDict) -> SearchForm:
    found = SearchForm()
    citizen = text(form, "citizen")
    client = text(form, "client")[:64]
    action, outcome = text(form, "action"), text(form, "outcome")
    found.values.update(citizen=citizen, client=client, action=action, outcome=outcome)
    citizen_id = None
    if citizen:
        try:
            citizen_id = uuid.UUID(citizen)
        except ValueError:
            found.errors.append(
                FieldError(
                    "citizen", "Enter the citizen's account id, like 0190…-…, or leave it empty"
                )
            )
    since = _day(form, "from", found)
    until = _day(form, "to", found)
    if since and until and until <= since:
        found.errors.append(
            FieldError("from", "The first day must be the same as or before the last day")
        )
    found.filters = EntryFilter(
        citizen_id=citizen_id,
        client_id=client or None,
        action=Action(action) if action in Action._value2member_map_ else None,
        outcome=Outcome(outcome) if outcome in Outcome._value2member_map_ else None,
        since=since,
        until=until,
    )
    return found


def _day(form: FormMultiDict, name: str, found: SearchForm) -> dt.datetime | None:
    parts = tuple(text(form, f"{name}-{p}") for p in ("day", "month", "year"))
    found.values[name] = parts
    if not any(parts):
        return None
    day, month, year = parts
    try:
        start = dt.datetime(int(year), int(month), int(day), tzinfo=dt.UTC)
    except ValueError:
        label = "From" if name == "from" else "To"
        found.errors.append(FieldError(name, f"{label} must be a real date, like 27 3 2026"))
        return None
    return start if name == "from" else start + dt.timedelta(days=1)
