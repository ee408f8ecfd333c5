"""What "the index is consistent" means, checked the same way after every fault.

* every chunk id is stored once, and every document record once;
* every stored chunk is listed by exactly one record, the one its ``doc_id`` names (no orphans);
* every chunk a record lists is stored (no record missing its chunks);
* dense search finds a document's chunks by their own vectors (the HNSW index agrees with the
  stored rows);
* BM25 was built from the store's current generation and holds exactly the stored chunks.

(A writer killed mid-document may leave its lease, which only delays the sweep of that
document's orphans until it runs out: not an inconsistency.)

Also the generated documents the fault tests ingest: written here from word lists, so nothing is
copied from a real corpus, and each carries a made-up code word that only it contains, so a
question naming the code word has one right source.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from assistant.services import Services

CODE_WORDS = [
    "alderbrook",
    "birchmoor",
    "cedarvale",
    "dunholt",
    "elmstead",
    "fernleigh",
    "gorsewick",
    "hollinby",
]
DENSE_SAMPLE = 10  # chunks per document checked against the vector index
DENSE_K = 5
_SYLLABLES = ["ka", "lo", "mi", "ren", "tas", "vel", "dor", "sul", "bri", "nax", "pe", "qui"]
_SUBJECTS = ["The board", "Each trust", "The practice team", "The council", "The network"]
_VERBS = ["reviews", "publishes", "agrees", "funds", "audits", "staffs", "redesigns", "measures"]
_OBJECTS = [
    "its discharge plan",
    "the urgent care rota",
    "the estates budget",
    "digital records",
    "workforce targets",
    "the procurement pipeline",
    "waiting lists",
    "care pathways",
]


def _site_name(rng: random.Random) -> str:
    """A made-up place name, so that passages differ in words and not only in numbers (with
    the hashing embedder, passages that differ only in numbers get near-identical vectors,
    which approximate search cannot tell apart)."""
    return "".join(rng.choice(_SYLLABLES) for _ in range(3)).title()


def note_text(number: int, paragraphs: int) -> str:
    """An operating note: a title with its code word, then numbered, distinct clauses.

    The code word is in the first clause only, so one passage answers "what does the <code
    word> note agree?".
    """
    code = CODE_WORDS[number % len(CODE_WORDS)]
    rng = random.Random(number)
    parts = [
        f"# Operating note {number}\n",
        f"The {code.title()} programme agrees a shared waiting list for {code} patients "
        f"under clause {number}.0.",
    ]
    for j in range(1, paragraphs):
        if j % 12 == 0:
            parts.append(f"## Part {j // 12}\n")
        parts.append(
            f"{rng.choice(_SUBJECTS)} at {_site_name(rng)} {rng.choice(_VERBS)} "
            f"{rng.choice(_OBJECTS)} with {_site_name(rng)} every {j % 5 + 2} weeks from "
            f"{2026 + j % 4}, under clause {number}.{j}."
        )
    return "\n\n".join(parts) + "\n"


def write_note(folder: Path, number: int, paragraphs: int = 30, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"note-{number:02d}.md")
    path.write_text(note_text(number, paragraphs), encoding="utf-8")
    return path


def code_question(number: int) -> str:
    code = CODE_WORDS[number % len(CODE_WORDS)]
    return f"What waiting list does the {code.title()} programme agree for {code} patients?"


def index_problems(services: Services) -> list[str]:
    """Everything inconsistent between records, chunks, vectors and BM25 (empty = consistent).

    Call ``services.retriever.sync()`` first when BM25 should have caught up.
    """
    store = services.store
    problems: list[str] = []
    chunks = store.all_chunks()
    stored = Counter(c.chunk_id for c in chunks)
    problems += [f"chunk {cid} stored {n} times" for cid, n in stored.items() if n > 1]
    doc_of = {c.chunk_id: c.metadata.get("doc_id") for c in chunks}

    records = store.list_documents()
    record_ids = Counter(r.meta.doc_id for r in records)
    problems += [f"document {d} recorded {n} times" for d, n in record_ids.items() if n > 1]
    listed: Counter[str] = Counter()
    for rec in records:
        listed.update(rec.chunk_ids)
        missing = [cid for cid in rec.chunk_ids if cid not in stored]
        if missing:
            problems.append(f"{rec.meta.doc_id}: {len(missing)} recorded chunks are not stored")
        strays = [cid for cid in rec.chunk_ids if cid in doc_of and doc_of[cid] != rec.meta.doc_id]
        if strays:
            problems.append(f"{rec.meta.doc_id}: lists {len(strays)} chunks of other documents")
        problems += _dense_problems(services, rec.meta.doc_id, rec.chunk_ids)
    problems += [f"chunk {cid} listed by {n} records" for cid, n in listed.items() if n > 1]
    orphans = sorted(set(stored) - set(listed))
    if orphans:
        docs = sorted({str(doc_of[c]) for c in orphans})
        problems.append(f"{len(orphans)} orphan chunks (no record lists them) of {docs}")

    bm25 = services.retriever.bm25
    generation = store.generation()
    if bm25.generation != generation:
        problems.append(f"BM25 built at generation {bm25.generation}, store at {generation}")
    unknown = [cid for cid in stored if bm25.chunk(cid) is None]
    if len(bm25) != len(stored) or unknown:
        problems.append(
            f"BM25 holds {len(bm25)} chunks, the store {len(stored)} ({len(unknown)} unknown)"
        )
    return problems


def _dense_problems(services: Services, doc_id: str, chunk_ids: list[str]) -> list[str]:
    """A sample of a document's chunks (first, last and evenly between) must be found by their
    own vectors: the vector index holds what the records list."""
    step = max(1, len(chunk_ids) // DENSE_SAMPLE)
    sample = sorted(set(chunk_ids[::step] + chunk_ids[-1:]))
    problems = []
    for chunk in services.store.get_chunks(sample, with_embeddings=True):
        assert chunk.embedding is not None
        hits = services.store.search(chunk.embedding, k=DENSE_K)
        if chunk.chunk_id not in {h.chunk_id for h in hits}:
            problems.append(f"{doc_id}: dense search does not find {chunk.chunk_id}")
    return problems


def answer_sources(services: Services, number: int) -> tuple[bool, list[str]]:
    """Ask the code-word question of note ``number``: (refused, doc id of each retrieved passage
    that holds the code word)."""
    code = CODE_WORDS[number % len(CODE_WORDS)]
    answer = services.ask(code_question(number))
    holders = [c.doc_id for c in answer.retrieved if code in c.text.lower()]
    return answer.refused, holders
