"""Configuration: every setting is documented in .env.example and read from the environment."""

from __future__ import annotations

import re

from pydantic import BaseModel

from assistant.config import Settings
from tests.conftest import PROJECT_ROOT

# Test-only knobs that users never set.
UNDOCUMENTED = {"NHS_ASSISTANT_LLM_FAKE_RESPONSES"}


def _env_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        group = field.annotation
        if isinstance(group, type) and issubclass(group, BaseModel):
            names |= {f"NHS_ASSISTANT_{name}_{sub}".upper() for sub in group.model_fields}
        else:
            names.add(f"NHS_ASSISTANT_{name}".upper())
    return names


def test_every_setting_is_listed_in_env_example():
    text = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"\b(NHS_ASSISTANT_[A-Z0-9_]+)=", text))
    missing = _env_names() - listed - UNDOCUMENTED
    assert not missing, f".env.example lacks {sorted(missing)}"
    unknown = listed - _env_names()
    assert not unknown, f".env.example names settings that do not exist: {sorted(unknown)}"


def test_llm_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("NHS_ASSISTANT_LLM_BASE_URL", "http://127.0.0.1:8080/v1")
    monkeypatch.setenv("NHS_ASSISTANT_LLM_ON_FAILURE", "error")
    monkeypatch.setenv("NHS_ASSISTANT_ANSWER_MODE", "llm")
    settings = Settings()
    assert settings.llm.base_url == "http://127.0.0.1:8080/v1" and settings.llm.configured()
    assert settings.llm.on_failure == "error" and settings.answer.mode == "llm"
