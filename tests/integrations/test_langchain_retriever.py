"""The LangChain retriever: in process and over HTTP, the same passages with citation
metadata, and an LCEL chain that puts them in front of a chat model."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough

from assistant.integrations.langchain import (
    NHSAssistantRetriever,
    RetrieverError,
    format_passages,
)
from assistant.schemas import Filters
from tests.api.conftest import ASK_KEY, ingested_services, serve

QUESTION = "Who must agree a joint plan with partner trusts?"


@pytest.fixture
def services(tmp_path: Path):
    return ingested_services(tmp_path / "data", tmp_path / "corpus")


def test_in_process_documents_carry_what_is_needed_to_cite_them(services) -> None:
    retriever = NHSAssistantRetriever.from_services(services, k=3)
    docs = retriever.invoke(QUESTION)
    direct = services.retrieve(QUESTION, k=3)
    assert [d.id for d in docs] == [c.chunk_id for c in direct]
    first = docs[0]
    assert first.page_content == direct[0].text
    assert first.metadata["title"] == direct[0].title and first.metadata["rank"] == 1
    assert first.metadata["citation"].startswith(direct[0].title)
    assert {"doc_id", "section", "page_start", "source_url", "score"} <= set(first.metadata)
    only = NHSAssistantRetriever.from_services(
        services, filters=Filters(doc_ids=[first.metadata["doc_id"]])
    ).invoke(QUESTION)
    assert {d.metadata["doc_id"] for d in only} == {first.metadata["doc_id"]}


def test_an_lcel_chain_puts_the_numbered_passages_before_the_chat_model(services) -> None:
    retriever = NHSAssistantRetriever.from_services(services, k=2)
    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "Answer only from these passages and cite them as [n]:\n\n{context}"),
            ("human", "{question}"),
        ]
    )
    model = FakeListChatModel(responses=["Every integrated care board must agree it [1]."])
    seen: list[str] = []
    chain = (
        {"context": retriever | format_passages, "question": RunnablePassthrough()}
        | prompt
        | (lambda value: seen.append(value.to_string()) or value)
        | model
        | StrOutputParser()
    )
    assert chain.invoke(QUESTION) == "Every integrated care board must agree it [1]."
    top = services.retrieve(QUESTION, k=1)[0]
    assert f"[1] {top.title}" in seen[0] and top.text[:40] in seen[0]


@pytest.mark.integration
def test_over_http_the_same_documents_and_the_api_s_errors(services) -> None:
    with serve(services) as running:
        remote = NHSAssistantRetriever.from_url(running.base_url, ASK_KEY, k=3)
        local = NHSAssistantRetriever.from_services(services, k=3)
        assert [d.id for d in remote.invoke(QUESTION)] == [d.id for d in local.invoke(QUESTION)]
        with pytest.raises(RetrieverError, match="401"):
            NHSAssistantRetriever.from_url(running.base_url, "wrong-key").invoke(QUESTION)
        with pytest.raises(RetrieverError, match="question"):
            remote.invoke("   ")
