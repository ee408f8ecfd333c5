"""Remove patient identifiers and contact details from free text before it is logged or stored.

Questions and feedback comments may carry an NHS number, an email address or a phone number
pasted by mistake. Everything the API writes down (logs, the feedback database) goes through
:func:`redact` first; the text used to answer is not changed.

>>> redact("Patient 943 476 5919 (jo@example.org, 07700 900123) asked about 2026/27 plans")
'Patient [NHS number] ([email], [phone]) asked about 2026/27 plans'

An NHS number is 10 digits, written together or spaced 3-3-4, whose last digit is the modulus 11
check digit of the first nine; ten digits failing the check are left alone (they are more often
a reference or an amount than a mistyped NHS number).
"""

from __future__ import annotations

import re

NHS_NUMBER_MARK = "[NHS number]"
EMAIL_MARK = "[email]"
PHONE_MARK = "[phone]"

_NHS_NUMBER = re.compile(r"(?<![\d-])(\d{3})([ -]?)(\d{3})\2(\d{4})(?![\d-])")
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
    digits = m.group(1) + m.group(3) + m.group(4)
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


def redact(text: str) -> str:
    """``text`` with valid NHS numbers, email addresses and UK phone numbers replaced by marks."""
    if not text:
        return text
    text = _EMAIL.sub(EMAIL_MARK, text)
    text = _NHS_NUMBER.sub(_nhs_number, text)
    return _PHONE.sub(_uk_phone, text)
