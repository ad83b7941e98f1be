"""Evidence pages: add with a document, errors that say how to fix, versions, delete."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from e2e.helpers import browser, pdf, png

from dashboard.kit import FORM, post_form, sign_up, token_for

if TYPE_CHECKING:
    import httpx
    from litestar.testing import AsyncTestClient

ADD = "/dashboard/evidence/add"
ADDRESS = {
    "type": "proof_of_address",
    "full_name": "Amara Okafor",
    "address_line_1": "14 Elm Road",
    "town": "Leeds",
    "postcode": "ls6 2ab",
    "issued_on-day": "14",
    "issued_on-month": "3",
    "issued_on-year": "2025",
    "issuer": "Yorkshire Water",
    "category": "address",
}
_ITEM = re.compile(r"^/dashboard/evidence/([0-9a-f-]{36})\?saved=added$")


async def add(
    client: AsyncTestClient[Any],
    fields: dict[str, str],
    document: tuple[str, bytes, str] | None = None,
) -> httpx.Response:
    token = await token_for(client, f"{ADD}?type={fields['type']}")
    files = (
        {"document": document} if document else {"document": ("", b"", "application/octet-stream")}
    )
    return await client.post(
        ADD, data={"csrf_token": token, **fields}, files=files, follow_redirects=False
    )


async def added(client: AsyncTestClient[Any], fields: dict[str, str] = ADDRESS, **kw: Any) -> str:
    answer = await add(client, fields, **kw)
    assert answer.status_code == 303, answer.text
    found = _ITEM.match(answer.headers["location"])
    assert found
    return found.group(1)


async def test_add_evidence_with_a_document_and_see_it(client: AsyncTestClient[Any]) -> None:
    await sign_up(client, "amara@example.com")
    item_id = await added(client, document=("bill.png", png(b"bill"), "image/png"))
    page = await client.get(f"/dashboard/evidence/{item_id}?saved=added")
    assert page.status_code == 200
    assert "Your evidence has been added" in page.text
    assert "LS6 2AB" in page.text  # normalised by the vault
    assert "14 March 2025" in page.text
    assert "bill.png" in page.text
    link = re.search(rf'href="(/dashboard/evidence/{item_id}/documents/[0-9a-f-]+)"', page.text)
    assert link
    document = await client.get(link.group(1))
    assert document.status_code == 200
    assert document.content == png(b"bill")
    listed = await client.get("/dashboard/evidence")
    assert "Proof of address" in listed.text


async def test_choosing_a_type_is_a_plain_get_form(client: AsyncTestClient[Any]) -> None:
    await sign_up(client, "cho@example.com")
    choose = await client.get(ADD)
    assert 'name="type"' in choose.text
    unknown = await client.get(f"{ADD}?type=nonsense")
    assert unknown.status_code == 400
    assert "Choose the kind of evidence you want to add" in unknown.text
    form = await client.get(f"{ADD}?type=council_tax_bill")
    assert "Council Tax band" in form.text
    assert 'enctype="multipart/form-data"' in form.text


async def test_an_empty_form_names_every_missing_field(client: AsyncTestClient[Any]) -> None:
    await sign_up(client, "em@example.com")
    answer = await add(client, {"type": "proof_of_address"})
    assert answer.status_code == 400
    for message in ("Enter full name", "Enter town or city", "Enter date issued", "Enter postcode"):
        assert message in answer.text
    assert 'href="#issued_on"' in answer.text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"issued_on-month": "13"}, "Date issued must be a real date, like 27 3 2025"),
        ({"issued_on-year": "2999"}, "Date issued must not be in the future"),
        ({"postcode": "not a postcode"}, "Postcode"),
        ({"category": "vehicle"}, "Choose where to file it from the list"),
    ],
)
async def test_a_wrong_answer_says_how_to_fix_it(
    client: AsyncTestClient[Any], changes: dict[str, str], message: str
) -> None:
    await sign_up(client, "wa@example.com")
    answer = await add(client, {**ADDRESS, **changes})
    assert answer.status_code == 400
    assert "There is a problem" in answer.text
    assert message in answer.text
    assert 'value="Amara Okafor"' in answer.text  # what was typed is kept
    listed = await client.get("/dashboard/evidence")
    assert "You have not added any evidence yet" in listed.text


async def test_money_is_typed_in_pounds(client: AsyncTestClient[Any]) -> None:
    await sign_up(client, "mo@example.com")
    fields = {
        "type": "income_statement",
        "employer_or_source": "Northern Rail Ltd",
        "period_start-day": "1", "period_start-month": "2", "period_start-year": "2025",
        "period_end-day": "28", "period_end-month": "2", "period_end-year": "2025",
        "gross_pence": "£2,100.00",
        "net_pence": "1723.45",
        "category": "income",
    }  # fmt: skip
    item_id = await added(client, fields)
    page = await client.get(f"/dashboard/evidence/{item_id}")
    assert "£2,100.00" in page.text
    assert "£1,723.45" in page.text
    wrong = await add(client, {**fields, "net_pence": "12.345"})
    assert "Net amount (after deductions) must be an amount in pounds" in wrong.text
    more = await add(client, {**fields, "net_pence": "3000"})
    assert "must not be more than" in more.text


async def test_household_rows(client: AsyncTestClient[Any]) -> None:
    await sign_up(client, "hh@example.com")
    fields = {
        "type": "household_members",
        "members-0-full_name": "Amara Okafor",
        "members-0-date_of_birth-day": "21", "members-0-date_of_birth-month": "7",
        "members-0-date_of_birth-year": "1988", "members-0-relationship": "self",
        "members-1-full_name": "Tobi Okafor",
        "members-1-date_of_birth-day": "2", "members-1-date_of_birth-month": "4",
        "members-1-date_of_birth-year": "2016", "members-1-relationship": "child",
    }  # fmt: skip
    item_id = await added(client, fields)
    page = await client.get(f"/dashboard/evidence/{item_id}")
    assert "Tobi Okafor" in page.text
    twice = await add(client, {**fields, "members-1-relationship": "self"})
    assert twice.status_code == 400
    assert 'href="#members-1-relationship"' in twice.text


async def test_a_file_that_is_not_a_document_is_refused_and_nothing_saved(
    client: AsyncTestClient[Any],
) -> None:
    await sign_up(client, "fi@example.com")
    answer = await add(client, ADDRESS, document=("x.png", b"MZ not an image", "image/png"))
    assert answer.status_code == 400
    assert "The selected file must be a PDF, PNG or JPEG" in answer.text
    listed = await client.get("/dashboard/evidence")
    assert "You have not added any evidence yet" in listed.text


async def test_a_file_over_the_limit_gets_a_page_not_an_error(
    client: AsyncTestClient[Any],
) -> None:
    await sign_up(client, "big@example.com")
    answer = await add(
        client, ADDRESS, document=("big.pdf", pdf(11 * 1024 * 1024), "application/pdf")
    )
    assert answer.status_code == 413
    assert "The file is too big" in answer.text


async def test_change_makes_a_new_version_and_keeps_the_old(
    client: AsyncTestClient[Any],
) -> None:
    await sign_up(client, "ch@example.com")
    item_id = await added(client)
    change = f"/dashboard/evidence/{item_id}/change"
    form = await client.get(change)
    assert 'value="Yorkshire Water"' in form.text
    assert 'value="2025"' in form.text
    token = await token_for(client, change)
    answer = await client.post(
        change,
        data={"csrf_token": token, **ADDRESS, "issuer": "Northern Gas"},
        files={"document": ("", b"", "application/octet-stream")},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    history = await client.get(f"/dashboard/evidence/{item_id}/history")
    assert "Version 2 (current)" in history.text
    assert "Northern Gas" in history.text
    assert "Yorkshire Water" in history.text


async def test_upload_another_document(client: AsyncTestClient[Any]) -> None:
    await sign_up(client, "up@example.com")
    item_id = await added(client)
    path = f"/dashboard/evidence/{item_id}/documents"
    token = await token_for(client, f"/dashboard/evidence/{item_id}")
    none = await client.post(
        path, data={"csrf_token": token}, files={"document": ("", b"", "application/octet-stream")}
    )
    assert none.status_code == 400
    assert "Select a file" in none.text
    done = await client.post(
        path,
        data={"csrf_token": token},
        files={"document": ("letter.pdf", pdf(2000), "application/pdf")},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = await client.get(done.headers["location"])
    assert "letter.pdf" in page.text
    forged = await client.post(
        path, data={"csrf_token": "no"}, files={"document": ("a.pdf", pdf(10), "application/pdf")}
    )
    assert forged.status_code == 403


async def test_delete_asks_first_and_needs_the_token(client: AsyncTestClient[Any]) -> None:
    await sign_up(client, "de@example.com")
    item_id = await added(client)
    path = f"/dashboard/evidence/{item_id}/delete"
    confirm = await client.get(path)
    assert "You cannot undo it" in confirm.text
    refused = await client.post(path, data={"csrf_token": "stolen?"}, headers=FORM)
    assert refused.status_code == 403
    assert (await client.get(f"/dashboard/evidence/{item_id}")).status_code == 200
    done = await post_form(client, path, {})
    assert done.status_code == 303
    gone = await client.get(f"/dashboard/evidence/{item_id}")
    assert gone.status_code == 404
    assert "Page not found" in gone.text


async def test_someone_elses_evidence_is_not_found(client: AsyncTestClient[Any]) -> None:
    await sign_up(client, "own@example.com")
    item_id = await added(client)
    async with browser(client) as other:
        await sign_up(other, "nosy@example.com")
        for path in ("", "/change", "/history", "/delete"):
            answer = await other.get(f"/dashboard/evidence/{item_id}{path}")
            assert answer.status_code == 404
            assert "text/html" in answer.headers["content-type"]


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/evidence/not-a-uuid",
        "/dashboard/evidence/00000000-0000-0000-0000-000000000000",
        "/dashboard/services/123",
        "/dashboard/activity/%00",
        "/dashboard/activity?after=%27%3B--",
    ],
)
async def test_bad_addresses_get_a_page_never_a_500(
    client: AsyncTestClient[Any], path: str
) -> None:
    await sign_up(client, "bad@example.com")
    answer = await client.get(path)
    assert answer.status_code < 500
    assert "text/html" in answer.headers["content-type"]
