"""Remove patient identifiers and contact details from free text before it is logged or stored.

Questions and feedback comments may carry an NHS number, an email address or a phone number
pasted by mistake. Everything the API writes down (logs, the feedback database) goes through
:func:`redact` first; the text used to answer is not changed.

>>> redact("Patient 943 476 5919 (jo@example.org, 07700 900123) asked about 2026/27 plans")
'Patient [NHS number] ([email], [phone]) asked about 2026/27 plans'

The rules, exactly (``tests/security/test_redaction.py`` pins each one):

* **NHS number**: ten digits whose last is the modulus 11 check digit of the first nine,
  written together or broken after the third and/or the sixth digit (3-3-4) by one space,
  non-breaking space or hyphen (the two may differ: numbers pasted from different systems mix
  them). Left alone: ten digits failing the check (more often a reference or an amount than a
  mistyped NHS number), nine or eleven digits, other groupings (4-3-3, pairs, dots, two
  spaces), and ten digits inside a longer number (a digit, or a digit and a hyphen, right
  before or after).
* **Email address**: ``name@domain.tld`` (letters, digits, ``. _ % + ' -`` in the name);
  ``name at domain dot tld`` and addresses without a dot in the domain are left alone.
* **UK phone number**: ``0``, ``+44`` or ``0044`` (a bracketed ``(0)`` allowed after
  ``+44``), then 9 or 10 digits starting 1, 2, 3, 5, 7 or 8 in up to three groups separated by
  a space or a hyphen, the area code optionally bracketed. Numbers from other countries and
  short numbers (111, 999, extensions) are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable

NHS_NUMBER_MARK = "[NHS number]"
EMAIL_MARK = "[email]"
PHONE_MARK = "[phone]"

_NHS_SEPARATOR = "[ \u00a0\u202f-]?"  # a space, a (narrow) non-breaking space or a hyphen
_NHS_NUMBER = re.compile(
    rf"(?<!\d)(?<!\d-)(\d{{3}}){_NHS_SEPARATOR}(\d{{3}}){_NHS_SEPARATOR}(\d{{4}})(?!\d)(?!-\d)"
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A UK number: +44 / 0044 / 0, then two or three groups of digits (spaces, hyphens, a bracketed
# area code); its length and first digit are checked after matching.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+44\s?(?:\(0\)\s?)?|0044\s?|\(0|0)"
    r"\d{2,4}\)?[\s-]?\d{3,4}(?:[\s-]?\d{3,4})?(?!\d)"
)
NHS_CHECK_WEIGHTS = range(10, 1, -1)  # weights 10..2 for the first nine digits
UK_NATIONAL_DIGITS = (9, 10)  # digits after the leading 0 (or +44) of a UK number
UK_NATIONAL_FIRST = "123578"  # geographic, non-geographic, mobile, freephone, premium


def nhs_number_valid(digits: str) -> bool:
    """Whether ten digits pass the NHS number modulus 11 check."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], NHS_CHECK_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def _nhs_number(m: re.Match[str]) -> str:
    digits = m.group(1) + m.group(2) + m.group(3)
    return NHS_NUMBER_MARK if nhs_number_valid(digits) else m.group(0)


def _uk_phone(m: re.Match[str]) -> str:
    raw = m.group(0)
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("+44"):
        national = digits[2:].removeprefix("0")
    elif raw.startswith("0044"):
        national = digits[4:].removeprefix("0")
    else:
        national = digits[1:]
    if len(national) in UK_NATIONAL_DIGITS and national[:1] in UK_NATIONAL_FIRST:
        return PHONE_MARK
    return raw


def _passes(text: str, found: list[str] | None = None) -> str:
    """The three substitutions in order, noting in ``found`` what each one removed."""

    def noting(rule: Callable[[re.Match[str]], str]) -> Callable[[re.Match[str]], str]:
        def sub(m: re.Match[str]) -> str:
            out = rule(m)
            if found is not None and out != m.group(0):
                found.append(m.group(0))
            return out

        return sub

    text = _EMAIL.sub(noting(lambda m: EMAIL_MARK), text)
    text = _NHS_NUMBER.sub(noting(_nhs_number), text)
    return _PHONE.sub(noting(_uk_phone), text)


def redact(text: str) -> str:
    """``text`` with valid NHS numbers, email addresses and UK phone numbers replaced by marks."""
    return _passes(text) if text else text


def identifiers(text: str) -> list[str]:
    """What :func:`redact` would remove from ``text``, as written there.

    >>> identifiers("Call 020 7946 0958 about 943-476-5919, not 943-476-5918")
    ['943-476-5919', '020 7946 0958']
    """
    found: list[str] = []
    if text:
        _passes(text, found)
    return found
