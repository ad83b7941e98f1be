from __future__ import annotations

import unicodedata
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pds.accounts.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    HashingParams,
    WeakPassword,
    check_password_policy,
    common_passwords,
    dummy_verify,
    hash_password,
    needs_rehash,
    verify_password,
)
from pds.errors import InvalidInput

FAST = HashingParams.fast_for_tests()
GOOD = "violet tram harbour cinnamon"


def refusal(password: str, email: str | None = None) -> str:
    with pytest.raises(WeakPassword) as caught:
        check_password_policy(password, email=email)
    return caught.value.detail


# --- policy ------------------------------------------------------------------------------------


def test_a_long_uncommon_password_is_accepted() -> None:
    check_password_policy(GOOD, email="amara.okafor@example.org")
    check_password_policy("x7#Kp2!vQz9L")  # exactly the minimum


def test_limits() -> None:
    assert (MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH) == (12, 1024)


@pytest.mark.parametrize("password", ["", "short", "elevenchars"])
def test_too_short(password: str) -> None:
    assert "at least 12 characters" in refusal(password)


def test_longest_allowed_and_too_long() -> None:
    check_password_policy("tram harbour " * 78 + "x" * 10)  # 1024 characters
    assert "at most 1024 characters" in refusal("y" * (MAX_PASSWORD_LENGTH + 1))


@pytest.mark.parametrize(
    "password",
    [
        "password1234",
        "PASSWORD1234",
        "PassWord1234",
        "".join(chr(ord(c) + 0xFEE0) for c in "password1234"),  # full-width; NFKC folds it
        "qwertyuiop12",
        "123456789012",
        "passwordpassword",
        "iloveyou1234",
        "1qaz2wsx3edc",  # from zxcvbn's list
        "aaaaaaaaaaaaaaaaaaaa",  # one character repeated
    ],
)
def test_common_passwords_are_refused(password: str) -> None:
    assert "too common" in refusal(password)


@pytest.mark.parametrize(
    "password",
    ["amara.okafor", "Amara.Okafor2025!", "my amaraokafor pass", "AMARAOKAFOR-rules"],
)
def test_password_containing_the_email_local_part_is_refused(password: str) -> None:
    assert "email address" in refusal(password, email="Amara.Okafor+pds@example.org")


def test_very_short_local_part_is_not_matched() -> None:
    check_password_policy("jo " + GOOD, email="jo@example.org")


def test_email_rule_needs_an_email() -> None:
    check_password_policy("amara.okafor-" + GOOD)


def test_weak_password_error_shape() -> None:
    with pytest.raises(WeakPassword) as caught:
        check_password_policy("short")
    error = caught.value
    assert isinstance(error, InvalidInput)
    assert error.code == "weak_password"
    assert error.field == error.extra["field"] == "password"


def test_common_password_list_is_shipped_lowercase_and_long() -> None:
    text = resources.files("pds.accounts").joinpath("common_passwords.txt").read_text("utf-8")
    assert text.startswith("#")
    assert "zxcvbn" in text.splitlines()[1]
    listed = common_passwords()
    assert common_passwords() is listed  # loaded once
    assert len(listed) > 1000
    assert all(len(p) >= MIN_PASSWORD_LENGTH and p == p.lower() for p in listed)
    assert {"password1234", "qwertyuiop12", "123456789012", "passwordpassword"} <= listed


# --- hashing -----------------------------------------------------------------------------------


def test_hash_and_verify_round_trip() -> None:
    stored = hash_password(GOOD, FAST)

    assert stored.startswith("$argon2id$")
    assert verify_password(stored, GOOD)
    assert not verify_password(stored, GOOD + "!")
    assert hash_password(GOOD, FAST) != stored  # salted


def test_verify_matches_the_same_password_typed_in_another_unicode_form() -> None:
    stored = hash_password("café crème brûlée", FAST)
    assert verify_password(stored, unicodedata.normalize("NFD", "café crème brûlée"))


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "garbage",
        "$argon2id$",
        "$argon2id$v=19$m=8,t=1,p=1$AAAA$AAAA",
        "$argon2id$v=19$m=8,t=1,p=1$é$AAAA",
        "\x00",
        "$2b$12$abcdefghijklmnopqrstuuAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_verify_with_a_malformed_hash_is_false(stored: str) -> None:
    assert verify_password(stored, GOOD) is False


@given(st.text(max_size=80))
@settings(max_examples=50)
def test_verify_never_raises_for_garbage(stored: str) -> None:
    assert verify_password(stored, GOOD) is False


def test_verify_refuses_oversized_passwords_without_raising() -> None:
    stored = hash_password(GOOD, FAST)
    assert verify_password(stored, "x" * (MAX_PASSWORD_LENGTH + 1)) is False


def test_hashing_an_oversized_password_is_refused() -> None:
    with pytest.raises(WeakPassword):
        hash_password("x" * (MAX_PASSWORD_LENGTH + 1), FAST)


def test_needs_rehash() -> None:
    fast_hash = hash_password(GOOD, FAST)

    assert needs_rehash(fast_hash)  # against production parameters
    assert not needs_rehash(fast_hash, FAST)
    assert needs_rehash("garbage", FAST)


def test_dummy_verify_never_raises() -> None:
    dummy_verify(GOOD, FAST)
    dummy_verify("x" * (MAX_PASSWORD_LENGTH + 1), FAST)


def test_production_parameters() -> None:
    params = HashingParams.production()
    assert (params.time_cost, params.memory_cost_kib, params.parallelism) == (3, 65536, 1)
    assert FAST.memory_cost_kib < params.memory_cost_kib


def test_production_hash_round_trip() -> None:
    stored = hash_password(GOOD)  # one real-cost hash (~0.2 s) to prove the defaults work

    assert "$m=65536,t=3,p=1$" in stored
    assert verify_password(stored, GOOD)
    assert not needs_rehash(stored)
