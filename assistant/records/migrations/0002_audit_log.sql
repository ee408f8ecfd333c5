-- Who asked what, when: one row per API request (see assistant/audit.py and the README's
-- "Audit log"). No API key is stored, only its id; the question is redacted before it is.
CREATE TABLE IF NOT EXISTS audit_log (
    request_id TEXT NOT NULL,
    at TEXT NOT NULL,
    key_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    status INTEGER NOT NULL,
    latency_ms DOUBLE PRECISION NOT NULL,
    question TEXT,
    answer_id TEXT,
    documents TEXT NOT NULL DEFAULT '[]',
    mode TEXT,
    refused INTEGER
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log(at);
CREATE INDEX IF NOT EXISTS audit_log_answer ON audit_log(answer_id);
