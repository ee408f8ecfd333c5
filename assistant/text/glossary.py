"""How managers write what the documents spell out: short financial years and NHS acronyms.

A question typed as "cat 2 response target for 26/27?" and a document saying "Category 2 ...
2026/27" share no word. :func:`expand` writes the long forms beside the short ones (it never
removes what was typed), so retrieval and sentence scoring see both. The acronyms are the common
NHS England ones any manager uses; a term is added here only when documents spell it out.
"""

from __future__ import annotations

import re

# "26/27", "26-27", "2026-27", "2026/2027" -> "2026/27" (financial years 2000/01-2099/00).
_SHORT_YEAR = re.compile(r"(?<![\d/£$.,])(20)?(\d\d)\s*[/-]\s*(?:20)?(\d\d)(?![\d/%])")
# "FY26", "FY 2026/27" are left to the rule above once "FY" is dropped.
_FY = re.compile(r"\bFY\s?(?=\d)", re.IGNORECASE)

# Short form -> what the documents write. Matched as whole words, case-insensitively unless the
# short form is all capitals and also an English word ("UTC" is not, "CAT" would be).
GLOSSARY: dict[str, str] = {
    "10YHP": "10 Year Health Plan",
    # Written the other way round: statistics say "H1 2024/25" for the first half year.
    "first half": "H1",
    "second half": "H2",
    "10 year plan": "10 Year Health Plan",
    "MTPF": "Medium Term Planning Framework",
    "NOF": "NHS Oversight Framework",
    "RTT": "referral to treatment",
    "UEC": "urgent and emergency care",
    "UTC": "urgent treatment centre",
    "UTCs": "urgent treatment centres",
    "SDEC": "same day emergency care",
    "MDT": "multidisciplinary team",
    "MDTs": "multidisciplinary teams",
    "INT": "integrated neighbourhood team",
    "INTs": "integrated neighbourhood teams",
    "PHM": "population health management",
    "CDC": "community diagnostic centre",
    "CDCs": "community diagnostic centres",
    "FDS": "Faster Diagnosis Standard",
    "UCR": "urgent community response",
    "VW": "virtual ward",
    "EPR": "electronic patient record",
    "FDP": "Federated Data Platform",
    "NHSE": "NHS England",
    "DHSC": "Department of Health and Social Care",
    "LA": "local authority",
    "LAs": "local authorities",
    "HWB": "health and wellbeing board",
    "ED": "emergency department",
    "cat 1": "Category 1",
    "cat 2": "Category 2",
    "cat 3": "Category 3",
    "cat 4": "Category 4",
}
_ENTRIES = sorted(GLOSSARY.items(), key=lambda kv: -len(kv[0]))
_PATTERN = re.compile(
    r"(?<![\w&])(" + "|".join(re.escape(k) for k, _ in _ENTRIES) + r")(?![\w&])", re.IGNORECASE
)
_LOOKUP = {k.lower(): v for k, v in _ENTRIES}


def _full_year(m: re.Match[str]) -> str:
    century, first, second = m.group(1), m.group(2), m.group(3)
    if (int(first) + 1) % 100 != int(second):
        return m.group(0)  # not consecutive years: a score, a ratio or a date, not a year
    return f"{century or '20'}{first}/{second}"


def normalise_years(text: str) -> str:
    """Financial years written one way: "26/27" and "2026-27" become "2026/27".

    >>> normalise_years("targets for 26/27 and 2027-28")
    'targets for 2026/27 and 2027/28'
    >>> normalise_years("a 24/7 service, 3/4 of trusts")
    'a 24/7 service, 3/4 of trusts'
    """
    return _SHORT_YEAR.sub(_full_year, _FY.sub("", text))


def expand(question: str) -> str:
    """The question with years normalised and each short form followed by its long form.

    >>> expand("cat 2 target for 26/27 in the 10YHP?")
    'cat 2 (Category 2) target for 2026/27 in the 10YHP (10 Year Health Plan)?'
    """
    text = normalise_years(question)

    def add_long(m: re.Match[str]) -> str:
        long = _LOOKUP[m.group(1).lower()]
        if long.lower() in text.lower():
            return m.group(1)  # already written out in the question
        return f"{m.group(1)} ({long})"

    return _PATTERN.sub(add_long, text)
