-- Answers served and the ratings given on them (the tables the SQLite store always had).
CREATE TABLE IF NOT EXISTS answers (
    answer_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    refused INTEGER NOT NULL DEFAULT 0,
    mode TEXT NOT NULL DEFAULT '',
    evidence_score DOUBLE PRECISION NOT NULL DEFAULT 0,
    citations TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS feedback (
    feedback_id TEXT PRIMARY KEY,
    answer_id TEXT NOT NULL REFERENCES answers(answer_id),
    created_at TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT
);
CREATE INDEX IF NOT EXISTS feedback_answer ON feedback(answer_id);
