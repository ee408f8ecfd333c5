"""Redaction of NHS numbers, email addresses and UK phone numbers."""

from __future__ import annotations

import pytest

from assistant.redact import EMAIL_MARK, NHS_NUMBER_MARK, PHONE_MARK, nhs_number_valid, redact


@pytest.mark.parametrize("number", ["943 476 5919", "9434765919", "943-476-5919", "401 023 2137"])
def test_valid_nhs_numbers_are_redacted(number):
    assert redact(f"patient {number} was seen") == f"patient {NHS_NUMBER_MARK} was seen"


@pytest.mark.parametrize("number", ["943 476 5918", "9434765910", "1234567890", "943 4765 919"])
def test_numbers_failing_the_check_or_the_shape_are_left_alone(number):
    assert redact(f"reference {number}") == f"reference {number}"


def test_a_prefix_whose_check_digit_would_be_ten_has_no_valid_number():
    prefix = "000000006"  # weighted sum 12: 11 - 12 % 11 = 10, which no digit can be
    assert not any(nhs_number_valid(prefix + d) for d in "0123456789")
    assert nhs_number_valid("9434765919") and not nhs_number_valid("943476591")


def test_longer_digit_runs_are_not_cut_into_an_nhs_number():
    assert redact("batch 99434765919") == "batch 99434765919"


@pytest.mark.parametrize(
    "email", ["jane.doe@example.org", "first.last+tag@nhs.net", "o'neil@trust.nhs.uk"]
)
def test_email_addresses_are_redacted(email):
    assert redact(f"write to {email} today") == f"write to {EMAIL_MARK} today"


@pytest.mark.parametrize(
    "phone",
    [
        "020 7946 0958",
        "07700 900123",
        "07700900123",
        "+44 7700 900123",
        "+44 (0)20 7946 0958",
        "(0161) 496 0000",
        "0044 161 496 0000",
        "0161-496-0000",
    ],
)
def test_uk_phone_numbers_are_redacted(phone):
    assert redact(f"call {phone} now") == f"call {PHONE_MARK} now"


@pytest.mark.parametrize(
    "text",
    [
        "plans for 2025/26 and 2026/27",
        "£1,500,000 over 10,000 staff",
        "0.5 WTE per 100,000 people",
        "Core20PLUS5 and ICB 01234",
    ],
)
def test_ordinary_numbers_in_questions_are_kept(text):
    assert redact(text) == text


def test_empty_text_stays_empty():
    assert redact("") == ""
