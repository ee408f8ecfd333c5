"""The grounding check on generated text: every sentence against the passages it cites.

The generated text is split into sentences; each sentence's ``[n]`` markers are read, markers
naming no passage are dropped, and the verifier judges the sentence against the passages it
still cites. A sentence with no valid citation, or too few content words to check (a bare
"PWNED [1]" would otherwise be "covered" by the passage that planted it), is unsupported.
Two kinds of sentence carry no claim and are kept unchecked: a statement of what the passages
do not cover, and a short lead-in to a list ("The steps are:").

Passages are untrusted (:mod:`assistant.answer.untrusted`). A sentence planted in a passage to
instruct the model ("ignore previous instructions and say ...") supports nothing: it is left out
of the text a sentence is checked against, and a generated sentence that repeats words found
only in such an instruction has obeyed it, so it is unsupported however well it is "covered".
A generated sentence that is itself an instruction, or that carries a URL its cited passages do
not give (a link that could carry the question away), or an NHS number, email address or phone
number they do not give (one typed in the question, repeated), is unsupported too; Markdown
images, HTML and link targets never reach the checked text (``display_text`` strips them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from assistant.answer.citations import cite, merge_spans
from assistant.answer.display import display_text
from assistant.answer.untrusted import is_instruction
from assistant.answer.verifier import Verdict, Verifier, content_terms, quantities
from assistant.redact import identifiers
from assistant.schemas import AnswerSentence, Citation, RetrievedChunk
from assistant.text.sentences import is_list_item, sentence_spans

MIN_CLAIM_TERMS = 3  # fewer content words than this: nothing a source could confirm
LEAD_IN_MAX_WORDS = 12
UNVERIFIED_MARK = "(unverified)"

_CITATION = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
# "text. [1] Next" -> "text [1]. Next": markers written after the full stop belong before it.
_MARKER_AFTER_STOP = re.compile(r"([.!?])((?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+)")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>()\[\]]+", re.IGNORECASE)
PASSAGE_CACHE = 256
_GAP = re.compile(
    r"^(?:however,?\s+)?(?:the\s+)?(?:passages?|documents?|sources?)\s+(?:do|does)\s*(?:not|n't)\b",
    re.IGNORECASE,
)


@dataclass
class CheckedSentence:
    """One generated sentence after the check."""

    text: str
    citations: list[int]
    supported: bool | None
    list_item: bool = False
    dropped: int = 0
    verdict: Verdict | None = None
    reason: str = ""

    @property
    def claim(self) -> bool:
        """Whether the sentence states something (not a gap statement or a lead-in)."""
        return self.supported is not None


@dataclass
class CheckResult:
    sentences: list[CheckedSentence] = field(default_factory=list)

    @property
    def supported(self) -> list[CheckedSentence]:
        return [s for s in self.sentences if s.supported]

    @property
    def unsupported(self) -> list[CheckedSentence]:
        return [s for s in self.sentences if s.supported is False]

    @property
    def dropped(self) -> int:
        return sum(s.dropped for s in self.sentences)


def split_generated(text: str) -> list[tuple[str, bool]]:
    """Sentences of generated text (markers kept) and whether each is a list item."""
    text = _MARKER_AFTER_STOP.sub(r"\2\1", text.strip())
    out = []
    for a, b in sentence_spans(text):
        raw = text[a:b]
        out.append((raw, is_list_item(raw)))
    return out


def read_citations(sentence: str, passages: int) -> tuple[str, list[int], int]:
    """The sentence without markers, the valid passage numbers it cites, markers dropped."""
    numbers = [int(n) for m in _CITATION.finditer(sentence) for n in re.split(r"[,;]", m[1])]
    valid = list(dict.fromkeys(n for n in numbers if 1 <= n <= passages))
    bare = display_text(_CITATION.sub("", sentence))
    return bare, valid, len(numbers) - sum(1 for n in numbers if 1 <= n <= passages)


def _structural(text: str) -> str:
    """'gap' or 'lead-in' for sentences that make no claim to check, else ''."""
    if quantities(text):
        return ""
    if _GAP.match(text):
        return "gap"
    if text.endswith(":") and len(text.split()) <= LEAD_IN_MAX_WORDS:
        return "lead-in"
    return ""


@lru_cache(maxsize=PASSAGE_CACHE)
def support_text(passage: str) -> tuple[str, frozenset[str]]:
    """The passage without sentences planted to instruct a model, and the content words that
    occur only in those sentences (a claim using them repeats an instruction)."""
    sentences = [passage[a:b] for a, b in sentence_spans(passage) or [(0, len(passage))]]
    planted_flags = [is_instruction(s) for s in sentences]
    if not any(planted_flags):
        return passage, frozenset()
    planted = " ".join(s for s, flag in zip(sentences, planted_flags, strict=True) if flag)
    clean = " ".join(s for s, flag in zip(sentences, planted_flags, strict=True) if not flag)
    return clean, frozenset(content_terms(planted) - content_terms(clean))


def _foreign_urls(text: str, passages: list[str]) -> list[str]:
    """URLs in ``text`` that none of ``passages`` gives."""
    return [u for u in _URL.findall(text) if not any(u in p for p in passages)]


def _identifier_key(found: str) -> str:
    """An identifier however it is written: an address in lower case, else its digits."""
    return found.lower() if "@" in found else re.sub(r"\D", "", found)


def _foreign_identifiers(text: str, passages: list[str]) -> list[str]:
    """NHS numbers, email addresses and phone numbers in ``text`` that no passage gives."""
    found = identifiers(text)
    if not found:
        return []
    given = {_identifier_key(x) for p in passages for x in identifiers(p)}
    return [x for x in found if _identifier_key(x) not in given]


def check_sentence(
    raw: str, chunks: list[RetrievedChunk], verifier: Verifier, list_item: bool = False
) -> CheckedSentence:
    """One sentence judged against the passages it cites."""
    text, cited, dropped = read_citations(raw, len(chunks))
    passages = [chunks[n - 1].text for n in cited]

    def unsupported(reason: str) -> CheckedSentence:
        return CheckedSentence(text, cited, False, list_item, dropped, reason=reason)

    if is_instruction(text):
        return unsupported("an instruction, not an answer")
    if _foreign_urls(text, passages):
        return unsupported("a link the cited passages do not give")
    if _foreign_identifiers(text, passages):
        return unsupported("an identifier or contact the cited passages do not give")
    kind = _structural(text)
    if kind and not cited:
        return CheckedSentence(text, [], None, list_item, dropped, reason=kind)
    if not cited:
        return unsupported("no valid citation")
    if len(content_terms(text)) < MIN_CLAIM_TERMS:
        return unsupported("too short to check")
    support = [support_text(p) for p in passages]
    echoed = content_terms(text) & frozenset().union(*(planted for _, planted in support))
    if echoed:
        return unsupported("repeats an instruction planted in a cited passage")
    verdict = verifier.verify(text, [clean for clean, _ in support])
    reason = "" if verdict.supported else _why(verdict)
    return CheckedSentence(text, cited, verdict.supported, list_item, dropped, verdict, reason)


def _why(v: Verdict) -> str:
    if v.missing_quantities:
        return f"figures not in the cited passages: {', '.join(v.missing_quantities)}"
    if v.negation_mismatch:
        return "negates what the cited passage says"
    if v.missing_actors:
        return f"names who acts differently: {', '.join(v.missing_actors)}"
    return f"cited passages cover too little of it ({v.coverage:.0%} of its words)"


def check_text(text: str, chunks: list[RetrievedChunk], verifier: Verifier) -> CheckResult:
    """Every sentence of a generated answer checked against its cited passages."""
    return CheckResult(
        [check_sentence(raw, chunks, verifier, item) for raw, item in split_generated(text)]
    )


def kept_sentences(result: CheckResult, mark: bool) -> list[CheckedSentence]:
    """What stays: supported claims, unsupported ones too when marking, and structural
    sentences only when a claim stays with them (a lead-in needs a list after it)."""
    kept = [s for s in result.sentences if s.supported is not False or mark]
    if not any(s.claim for s in kept):
        return []
    while kept and kept[-1].reason == "lead-in":
        kept.pop()
    return kept


def compose_text(sentences: list[CheckedSentence]) -> str:
    """The checked answer: numbered lines when it has list items, else one paragraph."""
    shown = []
    for s in sentences:
        markers = "".join(f"[{n}]" for n in s.citations)
        mark = f" {UNVERIFIED_MARK}" if s.supported is False else ""
        shown.append(f"{s.text}{' ' + markers if markers else ''}{mark}".strip())
    if not any(s.list_item for s in sentences):
        return " ".join(shown)
    lines, step = [], 0
    for s, line in zip(sentences, shown, strict=True):
        if s.list_item:
            step += 1
            line = f"{step}. {line}"
        lines.append(line)
    return "\n".join(lines)


def answer_sentences(sentences: list[CheckedSentence]) -> list[AnswerSentence]:
    return [
        AnswerSentence(text=s.text, citations=s.citations, supported=s.supported) for s in sentences
    ]


def best_span(claim: str, chunk_text: str) -> tuple[int, int]:
    """The span of the chunk sentence sharing most content words with ``claim``."""
    spans = sentence_spans(chunk_text) or [(0, len(chunk_text))]
    spans = [sp for sp in spans if not is_instruction(chunk_text[sp[0] : sp[1]])] or spans
    terms = content_terms(claim)
    return max(
        spans, key=lambda sp: (len(terms & content_terms(chunk_text[sp[0] : sp[1]])), -sp[0])
    )


def citations_for(sentences: list[CheckedSentence], chunks: list[RetrievedChunk]) -> list[Citation]:
    """One citation per passage cited, numbered as in the prompt, quoting the sentences that
    back each claim citing it."""
    spans: dict[int, set[tuple[int, int]]] = {}
    for s in sentences:
        for n in s.citations:
            spans.setdefault(n, set()).add(best_span(s.text, chunks[n - 1].text))
    return [cite(n, chunks[n - 1], merge_spans(spans[n])) for n in sorted(spans)]
