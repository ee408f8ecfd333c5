"""Real clients against a real server: the official ``openai`` client, LangChain's
``ChatOpenAI`` and the project's LangChain retriever. From the response alone, each can show
a page number and a quote for every citation (a PDF from the shared corpus, so pages exist)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from assistant.api.openai_compat import MODEL_NAME
from assistant.integrations.langchain import NHSAssistantRetriever
from assistant.services import build_services
from tests.api.conftest import ASK_KEY, api_settings, serve

pytestmark = [pytest.mark.integration, pytest.mark.corpus]

PDF = "hee-data-driven-healthcare-2030-summary-2021.pdf"
QUESTION = "What is recommendation 6 on chief knowledge officers?"
# In the message text: "[n] Title, p. 12 <link>" then "> quote".
# A warning line may stand between them when the document is dated (assistant.lifecycle).
SOURCE = re.compile(
    r"^\[(\d+)\] .*?\bpp?\. (\d+)(?:–\d+)?(?: <\S+>)?\n(?:⚠ .*\n)?> (.+)$", re.MULTILINE
)


@pytest.fixture(scope="module")
def running(shared_corpus: Path, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("clients")
    (root / "corpus").mkdir()
    shutil.copy(shared_corpus / PDF, root / "corpus" / PDF)
    services = build_services(api_settings(root / "data"))
    assert services.ingest([root / "corpus"]).chunks > 0
    with serve(services) as api:
        yield api


def _sources_in_text(text: str) -> dict[int, tuple[int, str]]:
    return {int(n): (int(page), quote) for n, page, quote in SOURCE.findall(text)}


def test_the_openai_client_sees_pages_and_quotes_in_the_text_and_the_extra_fields(running):
    from openai import OpenAI

    client = OpenAI(base_url=f"{running.base_url}/v1", api_key=ASK_KEY, max_retries=0)
    completion = client.chat.completions.create(
        model=MODEL_NAME, messages=[{"role": "user", "content": QUESTION}]
    )
    extra = completion.model_extra or {}
    assert extra["refused"] is False and extra["answer_id"]
    citations = extra["citations"]
    shown = _sources_in_text(completion.choices[0].message.content or "")
    assert citations and set(shown) == {c["n"] for c in citations}
    for c in citations:
        page, quote = shown[c["n"]]
        assert page == c["page"] and c["page"] is not None
        assert " ".join(c["quote"].split())[:30] in quote


def test_langchain_chat_openai_sees_pages_and_quotes_in_the_message(running):
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(
        model=MODEL_NAME, base_url=f"{running.base_url}/v1", api_key=ASK_KEY, max_retries=0
    )
    message = chat.invoke(QUESTION)
    shown = _sources_in_text(str(message.content))
    assert shown and all(page > 0 and quote for page, quote in shown.values())
    assert "Recommendation 6" in str(message.content)


def test_the_retriever_documents_carry_pages_and_text(running):
    retriever = NHSAssistantRetriever.from_url(running.base_url, ASK_KEY, k=3)
    docs = retriever.invoke(QUESTION)
    assert docs and all(d.metadata["page_start"] for d in docs)
    assert "Recommendation 6" in docs[0].page_content
    assert re.search(r"\bpp?\. \d+", docs[0].metadata["citation"])
