"""The default answerer: picks cited sentences from the retrieved chunks, with no LLM.

One module per job, in the order an answer is made:

* ``lexicon``   word lists and patterns (actors, obligations, imperatives, months, equivalent
                phrases, what a question asks for);
* ``features``  the question's terms and wants; sentence units, their traits and quality;
* ``scoring``   IDF, sentence scores, selection, near-duplicates, the evidence score (the
                formulas are in its docstring);
* ``refusal``   the weak-evidence decision (with the sentence-similarity check and its vector
                cache), the refusal answer and its nearest sources;
* ``compose``   reading order, answer text, citations and quote spans;
* ``answerer``  :class:`ExtractiveAnswerer`, which runs the steps and times them.
"""

from assistant.answer.extractive.answerer import ExtractiveAnswerer
from assistant.answer.extractive.features import content_terms

__all__ = ["ExtractiveAnswerer", "content_terms"]
