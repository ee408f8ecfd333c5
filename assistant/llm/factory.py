"""``make_chat_model(settings.llm)``: the one place a LangChain chat model is created.

``openai`` serves OpenAI and every server that speaks its API (llama.cpp, vLLM, Ollama) at
``base_url``; ``azure`` serves Azure OpenAI; ``fake`` is the scripted model tests use. The
client's own retries are off: :mod:`assistant.llm.calls` retries, so retries are bounded and
tested in one place. Nothing here counts tokens (that would make tiktoken download encodings).
"""

from __future__ import annotations

import logging
import re
from typing import get_args
from urllib.parse import urlsplit, urlunsplit

from langchain_core.language_models.chat_models import BaseChatModel

from assistant.config import LLMBackend, LLMSettings
from assistant.errors import ConfigurationError
from assistant.llm.fake import ScriptedChatModel

logger = logging.getLogger(__name__)


def _openai(settings: LLMSettings) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    extra = {}
    if settings.base_url and "api.openai.com" not in settings.base_url:
        # ChatOpenAI sends max_completion_tokens; OpenAI-compatible servers (llama.cpp) read
        # max_tokens, so without it their answers would run to the end of the context.
        extra["extra_body"] = {"max_tokens": settings.max_tokens}
    return ChatOpenAI(
        model=settings.model,
        base_url=settings.base_url,
        api_key=settings.api_key if settings.api_key.get_secret_value() else "not-needed",
        timeout=settings.timeout_s,
        max_retries=0,
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        seed=settings.seed,
        streaming=True,
        **extra,
    )


def _azure(settings: LLMSettings) -> BaseChatModel:
    from langchain_openai import AzureChatOpenAI

    if not (settings.base_url and settings.azure_deployment):
        raise ConfigurationError(
            "the azure LLM backend needs llm.base_url (the resource endpoint) and "
            "llm.azure_deployment (NHS_ASSISTANT_LLM_BASE_URL, NHS_ASSISTANT_LLM_AZURE_DEPLOYMENT)"
        )
    return AzureChatOpenAI(
        azure_endpoint=settings.base_url,
        azure_deployment=settings.azure_deployment,
        api_version=settings.api_version,
        api_key=settings.api_key,
        timeout=settings.timeout_s,
        max_retries=0,
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        seed=settings.seed,
        streaming=True,
    )


def make_chat_model(settings: LLMSettings) -> BaseChatModel:
    """The chat model ``settings.backend`` names; an unknown backend lists the allowed ones."""
    if settings.backend == "openai":
        model = _openai(settings)
    elif settings.backend == "azure":
        model = _azure(settings)
    elif settings.backend == "fake":
        model = ScriptedChatModel(responses=list(settings.fake_responses))
    else:
        allowed = ", ".join(get_args(LLMBackend))
        raise ConfigurationError(f"unknown LLM backend {settings.backend!r}; allowed: {allowed}")
    logger.info("LLM: %s (%s backend)", describe(settings), settings.backend)
    return model


def describe(settings: LLMSettings) -> str:
    """How to name the model in messages: backend, model and where it runs (never the key)."""
    if settings.backend == "fake":
        return "fake LLM"
    where = without_credentials(settings.base_url) if settings.base_url else "api.openai.com"
    name = settings.azure_deployment if settings.backend == "azure" else settings.model
    return f"LLM {name} at {where}"


def without_credentials(url: str) -> str:
    """``url`` with any user name, password or key in it hidden, for messages and logs.

    >>> without_credentials("https://user:s3cret@llm.example.org/v1?api_key=abc&x=1")
    'https://***@llm.example.org/v1?api_key=***&x=1'
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = re.sub(
        r"(?i)((?:api[_-]?key|key|token|secret|password|sig)=)[^&]*", r"\1***", parts.query
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
