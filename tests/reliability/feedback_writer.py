"""One writer process of the feedback concurrency test, in a module of its own so that a spawned
process imports only the feedback store (importing the test module would import the whole API
and Chroma, seconds per process)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from assistant.feedback import FeedbackStore, StoredAnswer

THREADS = 3
RECORDS_EACH = 8  # answers (each with one rating) per thread
CREATION_ROUNDS = 3  # fresh files every process opens at the same moment


def write_records(folder: str, worker: int, together: Any) -> None:
    """Open every fresh file at the same moment as the other processes (``together`` is their
    barrier), then write records from THREADS threads; report what the store said was saved
    (and any error) in ``worker-N.json``."""
    root = Path(folder)
    errors: list[str] = []
    saved: list[list[str]] = []
    try:
        for r in range(CREATION_ROUNDS):
            together.wait(60)
            FeedbackStore(root / f"fresh-{r}.sqlite")
        together.wait(60)
        store = FeedbackStore(root / "shared.sqlite")
        lock = threading.Lock()

        def write(thread: int) -> None:
            for j in range(RECORDS_EACH):
                answer_id = f"p{worker}-t{thread}-{j}"
                try:
                    store.record_answer(
                        StoredAnswer(answer_id=answer_id, question=f"q {answer_id}", answer="a")
                    )
                    feedback_id = store.add_feedback(
                        answer_id, "up" if j % 2 else "down", answer_id
                    )
                except Exception as exc:  # reported, so the test fails with the cause
                    with lock:
                        errors.append(f"{answer_id}: {exc.__class__.__name__}: {exc}")
                    continue
                with lock:
                    saved.append([answer_id, feedback_id])

        threads = [threading.Thread(target=write, args=(t,)) for t in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    except Exception as exc:
        errors.append(f"{exc.__class__.__name__}: {exc}")
    (root / f"worker-{worker}.json").write_text(json.dumps({"saved": saved, "errors": errors}))
