"""Word lists shared by ingestion, retrieval, answering and evaluation, each defined once.

A list used by one module only (the extractive answerer's imperative verbs, the verifier's
negations) stays beside that module; a list two modules would otherwise each spell out lives
here, so that a word added to it is added everywhere at once.
"""

from __future__ import annotations


def word_set(text: str) -> frozenset[str]:
    """A word list written as one string, for readability."""
    return frozenset(text.split())


# --- stop words ---------------------------------------------------------------------------------
# Words that carry no topic: left out of BM25 terms, sentence scoring, grounding and follow-ups.
STOP_WORDS = word_set(
    """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself
    just me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours yourself yourselves may might must shall
    also us within per via across upon whether yet i'm we're it's get got make made one two
    """
)

# --- numbers ------------------------------------------------------------------------------------
# Number words in counting order: COUNTING_WORDS[n] is the word for n.
COUNTING_WORDS = (
    *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    *("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen"),
    *("eighteen", "nineteen", "twenty"),
)

# --- dates --------------------------------------------------------------------------------------
MONTH_NAMES = (
    *("january", "february", "march", "april", "may", "june"),
    *("july", "august", "september", "october", "november", "december"),
)
# Short forms as written with a full stop ("Sept. 2024"); "may" has none.
MONTH_ABBREVIATIONS = (
    *("jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"),
)

# --- who acts -----------------------------------------------------------------------------------
# Two lists for two questions. ACTING_PARTIES (a regular expression) is broad: anyone a sentence
# can tell to act ("systems", "leaders", "partners"), which makes a sentence a better answer to
# "how do we ...". ACTOR_FORMS is narrow: the organisations whose names must not be swapped in a
# generated sentence ("ICBs must" for "trusts must"), each with the spellings that name it.
ACTING_PARTIES = (
    r"icbs?|integrated care boards?|trusts?|providers?|boards?|pcns?|primary care networks?"
    r"|practices|systems|local authorit(?:y|ies)|commissioners?|nhs england|regions?"
    r"|regional teams?|organisations?|organizations?|leaders|partners|neighbourhood teams?"
)
ACTOR_FORMS = {
    "icb": ("icb", "icbs", "integrated care board", "integrated care boards"),
    "trust": ("trust", "trusts", "foundation trust", "foundation trusts"),
    "provider": ("provider", "providers"),
    "nhs england": ("nhs england", "nhse"),
    "dhsc": ("dhsc", "department of health"),
    "board": ("board", "boards"),
    "region": ("region", "regions", "regional"),
    "pcn": ("pcn", "pcns", "primary care network", "primary care networks"),
    "practice": ("gp practice", "gp practices", "general practice", "practices"),
    "local authority": ("local authority", "local authorities", "councils", "local government"),
    "government": ("government", "ministers"),
    "cqc": ("cqc", "care quality commission"),
}

# --- abbreviations (the sentence splitter's) ----------------------------------------------------
# A full stop after these never ends a sentence ("e.g. The", "Dr. Smith", "Sept. 2024"). Not
# "etc": it ends many a sentence ("... cloud, etc. The adoption ...").
NEVER_FINAL_ABBREVIATIONS = word_set(
    """
    e.g eg i.e ie vs v dr mr mrs ms prof sir st rt hon cf al viz incl esp approx c ca inc ltd co
    """
) | frozenset(MONTH_ABBREVIATIONS)
# A full stop after these does not end a sentence when a number follows ("No. 10", "para. 4").
NUMBER_ABBREVIATIONS = word_set("no nos para paras p pp fig figs vol ch sec sect art tab ref")
