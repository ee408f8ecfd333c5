"""A LangChain retriever over the assistant's retrieval: ranked passages as ``Document``s that
carry everything needed to cite them.

In process, over the services ``build_services`` made::

    retriever = NHSAssistantRetriever.from_services(build_services(Settings()), k=6)

or over HTTP, against ``POST /v1/retrieve`` of a running ``nhs-assistant serve``::

    retriever = NHSAssistantRetriever.from_url("http://127.0.0.1:8000", api_key="...")

Each document's ``metadata`` holds ``doc_id``, ``title``, ``section``, ``page_start``,
``page_end``, ``publisher``, ``source_url``, ``rank``, ``score``, ``chunk_id``, ``kind``,
``garbled`` and ``citation`` (``"Title — section, p. 4"``), so a chain can show a manager where
each passage stands. In an LCEL chain with any chat model (see the README)::

    chain = (
        {"context": retriever | format_passages, "question": RunnablePassthrough()}
        | prompt | chat_model | StrOutputParser()
    )
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import httpx
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, SecretStr

from assistant.answer.citations import pages, section_within
from assistant.asking import passage_of
from assistant.errors import AssistantError
from assistant.schemas import Filters, Passage, RetrieveResponse

if TYPE_CHECKING:
    from assistant.services import Services

RETRIEVE_PATH = "/v1/retrieve"


class RetrieverError(AssistantError):
    """The HTTP API refused or failed a retrieval; the message is the API's own."""


def citation_label(p: Passage) -> str:
    """``Title — section, p. 4`` (pages "pp. 4–5" when the passage runs over a break)."""
    label = " — ".join(x for x in (p.title, section_within(p.title, p.section)) if x)
    where = pages(p.page_start, p.page_end if p.page_end != p.page_start else None)
    return f"{label}, {where}" if where else label


def passage_document(p: Passage) -> Document:
    """A passage as a LangChain ``Document`` with its citation metadata."""
    metadata = p.model_dump(exclude={"text"})
    metadata["citation"] = citation_label(p)
    return Document(page_content=p.text, metadata=metadata, id=p.chunk_id)


def format_passages(documents: Sequence[Document]) -> str:
    """The passages numbered for a prompt: ``[1] Title — section, p. 4`` then the text."""
    return "\n\n".join(
        f"[{i}] {d.metadata.get('citation', '')}\n{d.page_content}"
        for i, d in enumerate(documents, 1)
    )


class NHSAssistantRetriever(BaseRetriever):
    """Ranked passages from the assistant's hybrid retrieval, as LangChain documents."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    services: Any = None  # in process: the Services of build_services
    base_url: str | None = None  # over HTTP: the API's address
    api_key: SecretStr | None = None
    k: int = 6
    filters: Filters | None = None
    timeout_s: float = 30.0

    @classmethod
    def from_services(cls, services: Services, **kwargs: Any) -> NHSAssistantRetriever:
        return cls(services=services, **kwargs)

    @classmethod
    def from_url(cls, base_url: str, api_key: str, **kwargs: Any) -> NHSAssistantRetriever:
        return cls(base_url=base_url.rstrip("/"), api_key=SecretStr(api_key), **kwargs)

    def passages(self, query: str) -> list[Passage]:
        """The ranked passages for ``query``."""
        if self.services is not None:
            chunks = self.services.retrieve(query, k=self.k, filters=self.filters)
            return [passage_of(c) for c in chunks]
        if not self.base_url or self.api_key is None:
            raise ValueError("give services (in process) or base_url and api_key (over HTTP)")
        body = {"question": query, "k": self.k}
        if self.filters is not None:
            body["filters"] = self.filters.model_dump(exclude_none=True)
        try:
            response = httpx.post(
                f"{self.base_url}{RETRIEVE_PATH}",
                json=body,
                headers={"Authorization": f"Bearer {self.api_key.get_secret_value()}"},
                timeout=self.timeout_s,
            )
        except httpx.HTTPError as exc:
            raise RetrieverError(f"cannot reach {self.base_url}: {exc}") from exc
        if response.status_code != 200:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise RetrieverError(f"{RETRIEVE_PATH} answered {response.status_code}: {message}")
        return RetrieveResponse.model_validate(response.json()).passages

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [passage_document(p) for p in self.passages(query)]
