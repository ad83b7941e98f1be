"""Evidence forms built from the evidence types' claims schemas.

The vault's schemas are the single source of what each type holds, so the form for
a type is derived from its schema, with plain-English labels layered on top. The
browser's text comes back as claims (pounds to pence, day/month/year to a date), and
the vault's own validation then has the last word; its message is reworded to name
the field as the page labels it. Pure: no database, no web framework.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import TYPE_CHECKING, Any, Final

import msgspec.inspect as mi

from pds.dashboard.forms import text
from pds.dashboard.pages import FieldError
from pds.vault.evidence_types import get_evidence_type

if TYPE_CHECKING:
    from enum import Enum

    from litestar.datastructures import FormMultiDict

MAX_ROWS: Final = 6  # people in a household form; the schema allows 20, a page shows 6
_LABELS: Final = {
    "address_line_1": "Address line 1",
    "address_line_2": "Address line 2 (optional)",
    "town": "Town or city",
    "full_name": "Full name",
    "issued_on": "Date issued",
    "issuer": "Who sent it",
    "account_reference": "Council Tax account reference",
    "nation": "Which country is the home in?",
    "band": "Council Tax band",
    "amount_due_pence": "Amount due for the year",
    "landlord_name": "Landlord's name",
    "tenancy_type": "Type of tenancy",
    "rent_pence_per_month": "Rent each month",
    "end_date": "End date (optional)",
    "award_reference": "Award reference",
    "amount_pence": "Amount paid",
    "frequency": "How often is it paid?",
    "document_type": "Type of document",
    "expires_on": "Expiry date",
    "issuing_country": "Country that issued it",
    "issuing_council": "Council that issued it",
    "holder_name": "Badge holder's name",
    "employer_or_source": "Employer or source of income",
    "period_start": "Start of the period",
    "period_end": "End of the period",
    "gross_pence": "Gross amount (before deductions)",
    "net_pence": "Net amount (after deductions)",
    "relationship": "Relationship to you",
}
_HINTS: Final = {
    "issuer": "For example, your water or energy company",
    "billing_year": "For example, 2025/26",
    "issuing_country": "The 3-letter code on the document, for example GBR",
    "postcode": "For example, LS6 2AB",
}
_CHOICE_WORDS: Final = {"self": "This is me", "esa": "Employment and Support Allowance"}
_PATH_PART = re.compile(r"\[(\d+)\]\.?|\.")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One form field: ``kind`` is text, money, date, choice or rows (a list of people)."""

    name: str
    label: str
    kind: str
    required: bool
    hint: str | None = None
    choices: tuple[tuple[str, str], ...] = ()
    rows: tuple[FieldSpec, ...] = field(default_factory=tuple)


def label_for(name: str) -> str:
    return _LABELS.get(name) or name.replace("_", " ").capitalize()


def _choice_words(value: str) -> str:
    return _CHOICE_WORDS.get(value) or value.replace("_", " ").capitalize()


def _spec(item: mi.Field) -> FieldSpec:
    kind_type: Any = item.type
    if isinstance(kind_type, mi.UnionType):
        kind_type = next(t for t in kind_type.types if not isinstance(t, mi.NoneType))
    if isinstance(kind_type, mi.Metadata):
        kind_type = kind_type.type
    label, hint = label_for(item.name), _HINTS.get(item.name)
    if isinstance(kind_type, mi.DateType):
        return FieldSpec(item.name, label, "date", item.required, hint)
    if isinstance(kind_type, mi.EnumType):
        enum: type[Enum] = kind_type.cls
        choices = tuple((str(m.value), _choice_words(str(m.value))) for m in enum)
        return FieldSpec(item.name, label, "choice", item.required, hint, choices)
    if isinstance(kind_type, mi.IntType) and item.name.endswith("_pence"):
        return FieldSpec(item.name, label, "money", item.required, "In pounds, like 125.50")
    if isinstance(kind_type, mi.ListType) and isinstance(kind_type.item_type, mi.StructType):
        rows = tuple(_spec(inner) for inner in kind_type.item_type.fields)
        return FieldSpec(item.name, "People in your household", "rows", item.required, rows=rows)
    return FieldSpec(item.name, label, "text", item.required, hint)


@cache
def form_fields(evidence_type: str) -> tuple[FieldSpec, ...]:
    """The fields for a type, required ones first as the schema lists them."""
    info = mi.type_info(get_evidence_type(evidence_type).schema)
    assert isinstance(info, mi.StructType)  # every claims schema is a struct
    specs = [_spec(item) for item in info.fields]
    return tuple(sorted(specs, key=lambda spec: not spec.required))


# --- form text -> claims -------------------------------------------------------------------


@dataclass
class Parsed:
    """What the form said: claims to validate, the text to show again, and the errors."""

    claims: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)


def read_claims(evidence_type: str, form: FormMultiDict) -> Parsed:
    parsed = Parsed()
    for spec in form_fields(evidence_type):
        if spec.kind == "rows":
            parsed.claims[spec.name] = _read_rows(spec, form, parsed)
        else:
            _read_one(spec, spec.name, form, parsed, parsed.claims)
    return parsed


def _read_rows(spec: FieldSpec, form: FormMultiDict, parsed: Parsed) -> list[dict[str, Any]]:
    rows = []
    for index in range(MAX_ROWS):
        prefix = f"{spec.name}-{index}-"
        if not any(_raw(inner, prefix + inner.name, form) for inner in spec.rows):
            continue
        row: dict[str, Any] = {}
        for inner in spec.rows:
            _read_one(inner, prefix + inner.name, form, parsed, row, person=index + 1)
        rows.append(row)
    if not rows:
        parsed.errors.append(FieldError(f"{spec.name}-0-full_name", "Enter at least one person"))
    return rows


def _raw(spec: FieldSpec, form_id: str, form: FormMultiDict) -> str:
    if spec.kind == "date":
        return "".join(text(form, f"{form_id}-{part}") for part in ("day", "month", "year"))
    return text(form, form_id)


def _read_one(  # noqa: PLR0917 - one call shape for top-level fields and rows
    spec: FieldSpec,
    form_id: str,
    form: FormMultiDict,
    parsed: Parsed,
    into: dict[str, Any],
    person: int | None = None,
) -> None:
    who = f"Person {person}: " if person else ""
    if spec.kind == "date":
        parts = tuple(text(form, f"{form_id}-{part}") for part in ("day", "month", "year"))
        parsed.values[form_id] = parts
        raw = "".join(parts)
    else:
        raw = text(form, form_id)
        parsed.values[form_id] = raw
    if not raw:
        if spec.required:
            verb = "Choose" if spec.kind == "choice" else "Enter"
            parsed.errors.append(FieldError(form_id, f"{who}{verb} {_lower(spec.label)}"))
        return
    value, problem = _convert(spec, raw, parsed.values[form_id])
    if problem:
        parsed.errors.append(FieldError(form_id, who + problem))
    else:
        into[spec.name] = value


def _lower(label: str) -> str:
    return label[:1].lower() + label[1:] if not label[:2].isupper() else label


def _convert(spec: FieldSpec, raw: str, shown: Any) -> tuple[Any, str | None]:
    if spec.kind == "money":
        return _pence(raw, spec.label)
    if spec.kind == "date":
        return _date(shown, spec.label)
    if spec.kind == "choice" and raw not in {value for value, _ in spec.choices}:
        return None, f"Choose {_lower(spec.label)} from the list"
    return raw, None


def _pence(raw: str, label: str) -> tuple[int | None, str | None]:
    cleaned = raw.replace("£", "").replace(",", "").strip()
    try:
        pounds = Decimal(cleaned)
    except InvalidOperation:
        pounds = Decimal(-1)
    if not pounds.is_finite() or pounds < 0 or pounds != pounds.quantize(Decimal("0.01")):
        return None, f"{label} must be an amount in pounds, like 125.50"
    return int(pounds * 100), None


def _date(parts: tuple[str, str, str], label: str) -> tuple[str | None, str | None]:
    day, month, year = parts
    try:
        if len(year) != 4:
            raise ValueError(year)
        return dt.date(int(year), int(month), int(day)).isoformat(), None
    except ValueError:
        return None, f"{label} must be a real date, like 27 3 2025"


# --- claims -> form text (to change a piece of evidence) --------------------------------------


def values_from_claims(evidence_type: str, claims: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for spec in form_fields(evidence_type):
        if spec.kind == "rows":
            for index, row in enumerate(claims.get(spec.name, [])[:MAX_ROWS]):
                for inner in spec.rows:
                    values[f"{spec.name}-{index}-{inner.name}"] = _shown(inner, row.get(inner.name))
        else:
            values[spec.name] = _shown(spec, claims.get(spec.name))
    return values


def _shown(spec: FieldSpec, value: Any) -> Any:
    if value is None:
        return ("", "", "") if spec.kind == "date" else ""
    if spec.kind == "money":
        return f"{Decimal(int(value)) / 100:.2f}"
    if spec.kind == "date":
        day = dt.date.fromisoformat(str(value))
        return (str(day.day), str(day.month), str(day.year))
    return str(value)


def describe_claims(evidence_type: str, claims: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs to show a piece of evidence in a summary list."""
    shown: list[tuple[str, str]] = []
    for spec in form_fields(evidence_type):
        if spec.kind == "rows":
            for index, row in enumerate(claims.get(spec.name, [])):
                parts = [_display(inner, row.get(inner.name)) for inner in spec.rows]
                shown.append((f"Person {index + 1}", ", ".join(p for p in parts if p)))
        elif spec.name in claims:
            shown.append(
                (spec.label.removesuffix(" (optional)"), _display(spec, claims[spec.name]))
            )
    return shown


def _display(spec: FieldSpec, value: Any) -> str:
    if value is None:
        return ""
    if spec.kind == "money":
        return f"£{Decimal(int(value)) / 100:,.2f}"
    if spec.kind == "date":
        return dt.date.fromisoformat(str(value)).strftime("%-d %B %Y")
    if spec.kind == "choice":
        return dict(spec.choices).get(str(value), str(value))
    return str(value)


# --- the vault's verdict, reworded -------------------------------------------------------------


def field_id(path: str | None) -> str:
    """``members[1].relationship`` → ``members-1-relationship``, the form's id for it."""
    if not path:
        return "evidence-form"
    return _PATH_PART.sub(lambda m: f"-{m.group(1)}-" if m.group(1) else "-", path).strip("-")


def vault_error(evidence_type: str, path: str | None, detail: str) -> FieldError:
    """The vault names fields by their claim names; the page names them by their labels."""
    if path:
        leaf = path.rsplit(".", 1)[-1]
        names = {spec.name: spec.label for spec in _all_specs(evidence_type)}
        detail = detail.replace(f"'{path}'", names.get(leaf, label_for(leaf)))
        for name, label in names.items():
            detail = detail.replace(f"'{name}'", _lower(label))
    return FieldError(field_id(path), detail.rstrip("."))


def _all_specs(evidence_type: str) -> list[FieldSpec]:
    specs = []
    for spec in form_fields(evidence_type):
        specs.append(spec)
        specs.extend(spec.rows)
    return specs
