"""The metrics' formulas, each a small pure function pinned by hand-computed tests.

The registered metrics (``eval.metrics.builtin`` and ``eval.metrics.generation``) apply these to
one question at a time and aggregate them; the formulas know nothing of datasets or reports.

Retrieval (per question, from the ranked chunks and the gold quotes):
  recall@k   share of gold quotes covered by at least one of the top k chunks
  MRR@10     1 / rank of the first relevant chunk in the top 10 (0 if none)
  nDCG@10    gain 1 for a chunk that covers a quote no higher chunk covered; ideal = every
             quote covered at the top ranks
Citations (ALCE, Gao et al. 2023, with the project's verifier V in place of NLI):
  recall     a sentence counts when it has a citation and its cited chunks together support it
  precision  a citation counts when its sentence is supported and the citation either supports
             the sentence alone or is needed (without it the rest no longer supports)
  invalid    [n] markers with no citation n
Answers: key-fact recall, refusal rate on unanswerable questions, false refusals on answerable.
Generated answers (llm mode): the same citation scores on the draft before the grounding check
(kept plus removed sentences), sentences removed, fallbacks, and time to the first token.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

from assistant.schemas import Answer

_MARKER = re.compile(r"\[(\d+)\]")

Supports = Callable[[str, list[str]], bool]


def covered_quotes(relevance: Sequence[set[int]], k: int) -> set[int]:
    """Quotes (by index) covered by the top ``k`` chunks; ``relevance[i]`` = quotes chunk i covers."""
    out: set[int] = set()
    for quotes in relevance[:k]:
        out |= quotes
    return out


def recall_at_k(relevance: Sequence[set[int]], n_quotes: int, k: int) -> float:
    if n_quotes == 0:
        return 0.0
    return len(covered_quotes(relevance, k)) / n_quotes


def mrr_at_k(relevance: Sequence[set[int]], k: int = 10) -> float:
    for rank, quotes in enumerate(relevance[:k], start=1):
        if quotes:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(relevance: Sequence[set[int]], n_quotes: int, k: int = 10) -> float:
    if n_quotes == 0:
        return 0.0
    seen: set[int] = set()
    dcg = 0.0
    for rank, quotes in enumerate(relevance[:k], start=1):
        new = quotes - seen
        if new:
            dcg += 1.0 / math.log2(rank + 1)
            seen |= new
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(n_quotes, k) + 1))
    return dcg / ideal


def invalid_markers(answer_text: str, citation_numbers: set[int]) -> int:
    """[n] markers in the answer that point to no citation."""
    return sum(1 for m in _MARKER.finditer(answer_text) if int(m.group(1)) not in citation_numbers)


def citation_scores(
    sentences: Sequence[tuple[str, list[str]]], supports: Supports
) -> tuple[float, float, list[dict]]:
    """ALCE citation recall and precision over one answer.

    ``sentences`` = (sentence text, texts of the chunks it cites). Returns (recall, precision,
    per-sentence verdicts). An answer with no sentences scores 0 on both.
    """
    if not sentences:
        return 0.0, 0.0, []
    supported_sentences = 0
    precise = total_citations = 0
    details = []
    for text, cited in sentences:
        joint = bool(cited) and supports(text, cited)
        supported_sentences += joint
        flags = []
        for i, passage in enumerate(cited):
            total_citations += 1
            if not joint:
                flags.append(False)
                continue
            alone = supports(text, [passage])
            rest = cited[:i] + cited[i + 1 :]
            needed = not rest or not supports(text, rest)
            ok = alone or needed
            flags.append(ok)
            precise += ok
        details.append({"sentence": text, "supported": joint, "citations_precise": flags})
    recall = supported_sentences / len(sentences)
    precision = precise / total_citations if total_citations else 0.0
    return recall, precision, details


def key_fact_recall(answer_text: str, key_facts: Sequence[str]) -> float:
    """The share of ``key_facts`` the answer states, compared as words: case, punctuation,
    hyphens, curly quotes, line breaks and Markdown emphasis do not count, so the fact
    "high-support, high-challenge" is found in "a high support high challenge approach".

    >>> key_fact_recall("A **high support** high-challenge model by 2026/27.",
    ...                 ["High-support, high-challenge", "2026/27", "2027/28"])
    0.6666666666666666
    """
    if not key_facts:
        return 0.0
    text = f" {_fact_words(answer_text)} "
    return sum(1 for f in key_facts if f" {_fact_words(f)} " in text) / len(key_facts)


def _fact_words(text: str) -> str:
    """Lower-case words and numbers of ``text`` joined by single spaces; a number keeps its
    inner separators ("2026/27", "1,500", "4.5%") and a word its apostrophe."""
    text = text.lower().replace("’", "'").replace("‘", "'")
    return " ".join(_FACT_TOKEN.findall(text))


_FACT_TOKEN = re.compile(r"£?\d+(?:[.,/:]\d+)*%?|[a-z]+(?:'[a-z]+)?")


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100); 0 for an empty list."""
    if not values:
        return 0.0
    xs = sorted(values)
    pos = (len(xs) - 1) * p / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def draft_citation_scores(answer: Answer, supports: Supports) -> tuple[float, float]:
    """Citation recall and precision of a generated draft: its kept and removed sentences.

    Generated sentences cite passages by their place in ``answer.retrieved`` (as numbered in
    the prompt); a fallback answer's own sentences are extractive, so only its removed ones
    are the draft's.
    """
    numbered = {n: r.text for n, r in enumerate(answer.retrieved, 1)}
    draft = list(answer.removed_sentences)
    if answer.mode == "llm":
        draft = [*answer.sentences, *draft]
    sentences = [(s.text, [numbered[n] for n in s.citations if n in numbered]) for s in draft]
    recall, precision, _ = citation_scores(sentences, supports)
    return recall, precision
