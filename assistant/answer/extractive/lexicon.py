"""The extractive answerer's word lists and patterns: what a question asks for, what makes a
sentence actionable, dated or quantified, and which names mean the same thing.

Lists other modules share (months, actors, counting words, stop words) come from
:mod:`assistant.text.lexicon`; the lists here are read by the extractive answerer only.
"""

from __future__ import annotations

import re

from assistant.text.lexicon import (
    ACTING_PARTIES,
    COUNTING_WORDS,
    MONTH_ABBREVIATIONS,
    MONTH_NAMES,
    word_set,
)

# Question words that carry no topic on top of the shared stop words ("what do we need to do").
QUESTION_STOP_WORDS = word_set(
    """
    need needs needed do does done say says said many much describe described explain explained
    mention mentioned tell according document documents guidance
    please know want anything something thing things way ways kind
    """
)
# Number words read as digits, so "three shifts" matches "3 shifts" ("one" stays a stop word).
NUMBER_WORDS = {w: str(i) for i, w in enumerate(COUNTING_WORDS) if i > 1}
# Multi-word names mapped to the acronym the corpus also uses, so both spellings match.
EQUIVALENT_PHRASES: tuple[tuple[str, str], ...] = (
    (r"integrated care boards?", "icb"),
    (r"integrated care systems?", "ics"),
    (r"primary care networks?", "pcn"),
    (r"urgent and emergency care", "uec"),
    (r"accident (?:and|&) emergency|a&e", "ae"),
    (r"general practi(?:ce|ces|tioners?)", "gp"),
    (r"artificial intelligence", "ai"),
    (r"electronic (?:patient|health) records?", "ehr"),
    (r"voluntary,? community,? (?:faith )?(?:and )?social enterprise", "vcse"),
)
# Who acts: a sentence naming one of these is a more useful answer to "how do we ...".
ACTORS = ACTING_PARTIES
OBLIGATIONS = (
    r"must|should|shall|will need to|needs? to|(?:is|are|will be) (?:expected|required|asked) to"
    r"|expected to|required to|requirement|have to|has to|ought to|is essential"
)
IMPERATIVE_VERBS = word_set(
    """
    adopt agree align appoint assess build collaborate commission complete confirm consider
    continue coordinate co-ordinate create deliver design develop embed engage ensure establish
    expand focus identify implement improve increase integrate invest maintain make map meet
    monitor move plan prioritise prioritize produce provide publish put reduce release report
    review set share shift start stop strengthen submit support take test track undertake update
    use work bring begin
    """
)
# Tokens that make a clause a clause; with -ed/-ing words and the imperatives above.
VERB_WORDS = word_set(
    """
    is are was were be been being am has have had do does did will would can could should must
    may might shall need needs sets set provides provide includes include requires require aims
    aim helps help means mean shows show delivers deliver makes make gives give takes take
    remains remain becomes become allows allow enables enable supports support expects expect
    continues continue seeks seek describes describe outlines outline rises rise falls fall
    grows grow increases increase reaches reach stands stand remain
    """
)
MONTHS = "|".join((*MONTH_NAMES, *MONTH_ABBREVIATIONS))

# One alternation, one group per phrase: group k (1-based) is EQUIVALENT_PHRASES[k - 1].
PHRASE = re.compile("|".join(rf"\b({p})\b" for p, _ in EQUIVALENT_PHRASES))
NON_LETTERS = re.compile(r"[^A-Za-z]+")
ACTOR = re.compile(rf"\b(?:{ACTORS})\b", re.IGNORECASE)
OBLIGATION = re.compile(rf"\b(?:{OBLIGATIONS})\b", re.IGNORECASE)
DEADLINE = re.compile(
    rf"\bby (?:the )?(?:(?:end|start|beginning) of )?(?:\d{{1,2}} )?(?:{MONTHS}|q[1-4]|20\d\d"
    rf"|spring|summer|autumn|winter|year[- ]end)\b|\bq[1-4]\b|\b20\d\d/\d\d\b|\bdeadline\b"
    rf"|\bno later than\b|\bwithin \d+ (?:days|weeks|months|years)\b",
    re.IGNORECASE,
)
# Month names count as dates, except "may", which is far more often the verb.
DATE = re.compile(
    rf"{DEADLINE.pattern}|\b(?:{MONTHS.replace('may|', '')})\b|\bmay 20\d\d\b|\b(?:19|20)\d\d\b",
    re.IGNORECASE,
)
YEAR = re.compile(r"\b(?:19|20)\d\d(?:/\d\d)?\b")
QUANTITY = re.compile(
    r"\d|%|£|\bper ?cent\b|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
    r"|fifteen|twenty|thirty|forty|fifty|hundred|thousand|million|billion|half|third|quarter"
    r"|double|triple|twice)\b",
    re.IGNORECASE,
)
REFERENCE = re.compile(
    r"\bet al\b|\bdoi\b|\bibid\b|\bavailable (?:at|from)\b|\baccessed\b|\bretrieved from\b|\bisbn\b",
    re.IGNORECASE,
)
# A roster of names and job titles (acknowledgements, contributors): "Jane Smith – Director of
# Digital Services Sam Patel – Chief Nursing Officer". Two such entries make a roster.
ROSTER_ENTRY = re.compile(
    r"\b[A-Z][a-z]+(?: [A-Z]\.?)? [A-Z][a-zA-Z'’-]+,? [–—-] (?:\w+ ){0,4}?"
    r"(?:Director|Manager|Officer|Lead|Head|Chief|Consultant|Analyst|Professor|Chair|Adviser"
    r"|Advisor|Fellow|Researcher|Executive|Coordinator|Specialist)\b"
)
# A footnote or reference entry: "12 Institute of Health Studies, Title, March 2024".
FOOTNOTE = re.compile(
    rf"^\d{{1,3}}\s+[A-Z].*,\s*(?:\d{{1,2}}\s+)?(?i:{MONTHS})\s+(?:19|20)\d\d$|\b(?i:viewed on)\b"
)

# --- what a question asks for -------------------------------------------------------------------
_SUBJECT = rf"(?:i|we|you|our \w+|my \w+|the \w+|{ACTORS})"
HOW_TO = re.compile(
    rf"\bhow (?:do|can|could|should|must|shall) {_SUBJECT}\b|\bhow (?:should|must|to)\b"
    r"|\bhow will (?:i|we|you|our \w+)\b"
    rf"|\bwhat (?:must|should|will|can) {_SUBJECT}\b"
    rf"|\bwhat (?:do|does|have|has) {_SUBJECT} (?:need|have|got) to\b"
    r"|\bwhat (?:is|are) (?:\w+ ){1,3}(?:expected|required|asked) to\b"
    r"|\bwhat (?:is|are) (?:expected|required) of\b"
    r"|\bwhat (?:steps|actions)\b|\bwhat (?:are|is) the (?:steps|actions|requirements|expectations)"
    r"|\b(?:steps|actions) (?:should|must|to)\b",
    re.IGNORECASE,
)
# "What are the three shifts?", "Which components ...", "What are the main enablers?": the answer
# is an enumeration, so a lead-in with its items (or a list run into a sentence) is wanted.
LIST_QUESTION = re.compile(
    r"\bwhat (?:are|were) (?:the|our|its|their) (?:\w+ )?(?:\w+s)\b"
    r"|\b(?:which|what) (?:\w+ ){0,2}(?:components|elements|areas|priorities|principles|domains"
    r"|enablers|shifts|pillars|themes|steps|stages|features|criteria|requirements)\b"
    r"|\b(?:list|name) (?:the|all)\b|\b(?:two|three|four|five|six|seven|eight|nine|ten|\d) "
    r"(?:\w+ )?(?:shifts|components|elements|areas|priorities|principles|domains|enablers|pillars"
    r"|themes|steps|stages|features|criteria|tests|aims|goals|ambitions)\b",
    re.IGNORECASE,
)
QUANTITY_QUESTION = re.compile(
    r"\bhow (?:many|much|long|often|big|large|far|quickly|fast)\b"
    r"|\bwhat (?:percentage|proportion|share|number|amount|level|rate|target|size|value|figure"
    r"|sum|budget|cost)s?\b|\bper ?cent(?:age)?\b|\btargets?\b",
    re.IGNORECASE,
)
DATE_QUESTION = re.compile(
    r"\bwhen\b|\bwhat (?:date|year|deadline|timescale|timeline)s?\b|\bdeadlines?\b"
    r"|\btimescales?\b|\bhow soon\b",
    re.IGNORECASE,
)
