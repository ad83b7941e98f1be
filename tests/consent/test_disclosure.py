"""The pure cut of one item: held ∩ granted ∩ asked, and documents only for whole items."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from consent import disclosure
from consent.disclosure import Asked, cut
from consent.requests import DataItem, DataRequest, PurposeStatement
from consent.vocabulary import Access, LawfulBasis, Purpose
from pds.vault.evidence_types import EVIDENCE_TYPES, EXAMPLE_CLAIMS

KINDS = sorted(EXAMPLE_CLAIMS)


@st.composite
def items(draw: st.DrawFn) -> DataItem:
    kind = draw(st.sampled_from(KINDS))
    by_type = draw(st.booleans())
    category = draw(st.sampled_from(sorted(EVIDENCE_TYPES[kind].categories)))
    names = sorted(EXAMPLE_CLAIMS[kind])
    claims = draw(st.one_of(st.none(), st.lists(st.sampled_from(names), min_size=1, unique=True)))
    documents = claims is None and draw(st.booleans())
    return DataItem(
        required=True,
        evidence_type=kind if by_type else None,
        category=None if by_type and draw(st.booleans()) else category,
        claims=tuple(claims) if claims else None,
        documents=documents,
    )


def scope(chosen: list[DataItem]) -> DataRequest:
    return DataRequest(
        type="pds_data_request",
        items=tuple(chosen),
        purpose=PurposeStatement(term=Purpose.SERVICE_PROVISION, description="To test cuts."),
        lawful_basis=LawfulBasis.PUBLIC_TASK,
        access=Access.ONGOING,
        duration=timedelta(days=1),
    )


def reaches(item: DataItem, kind: str, category: str) -> bool:
    return (item.evidence_type in (None, kind)) and (item.category in (None, category))


@given(
    chosen=st.lists(items(), min_size=1, max_size=4),
    kind=st.sampled_from(KINDS),
    data=st.data(),
)
def test_cut_is_held_granted_and_asked_never_more(
    chosen: list[DataItem], kind: str, data: st.DataObject
) -> None:
    category = data.draw(st.sampled_from(sorted(EVIDENCE_TYPES[kind].categories)))
    held = set(EXAMPLE_CLAIMS[kind])
    asked_names = data.draw(st.one_of(st.none(), st.sets(st.sampled_from([*sorted(held), "x"]))))
    asked = Asked(claims=frozenset(asked_names) if asked_names is not None else None)

    result = cut(scope(chosen), kind, category, held, asked)

    covering = [item for item in chosen if reaches(item, kind, category)]
    granted: set[str] = set()
    for item in covering:
        granted |= held if item.claims is None else held & set(item.claims)
    if asked_names is not None:
        granted &= asked_names
    documents = asked_names is None and any(i.documents and i.claims is None for i in covering)
    if not granted and not documents:
        assert result is None
    else:
        assert result is not None
        assert set(result.claims) == granted
        assert result.documents == documents


@given(kind=st.sampled_from(KINDS), data=st.data())
def test_an_unasked_type_is_never_cut(kind: str, data: st.DataObject) -> None:
    category = data.draw(st.sampled_from(sorted(EVIDENCE_TYPES[kind].categories)))
    whole = DataItem(required=True, evidence_type=kind)
    others = frozenset(k for k in KINDS if k != kind)

    assert (
        cut(scope([whole]), kind, category, EXAMPLE_CLAIMS[kind], Asked(evidence_types=others))
        is None
    )


ALL_NAMES = sorted({name for kind in EVIDENCE_TYPES.values() for name in kind.claim_names})


@given(chosen=st.lists(items(), min_size=1, max_size=4), data=st.data())
def test_a_read_is_refused_exactly_when_no_item_could_show_it_anything(
    chosen: list[DataItem], data: st.DataObject
) -> None:
    """``reaches`` decides between a refusal and an answer before any data is read: it
    must never refuse a read some item would answer, nor let through one none could."""
    types = data.draw(
        st.one_of(st.none(), st.sets(st.sampled_from([*KINDS, "no_such_type"]), min_size=1))
    )
    names = data.draw(st.one_of(st.none(), st.sets(st.sampled_from([*ALL_NAMES, "x"]), min_size=1)))
    asked = Asked(
        evidence_types=frozenset(types) if types is not None else None,
        claims=frozenset(names) if names is not None else None,
    )

    would_show = False
    for kind_key, kind in EVIDENCE_TYPES.items():
        if types is not None and kind_key not in types:
            continue
        for category in kind.categories:
            for item in chosen:
                if not reaches(item, kind_key, category):
                    continue
                shown = set(kind.claim_names)
                if item.claims is not None:
                    shown &= set(item.claims)
                if names is not None:
                    shown &= names
                whole = names is None and item.documents and item.claims is None
                would_show = would_show or bool(shown) or whole

    assert disclosure.reaches(scope(chosen), asked) is would_show
