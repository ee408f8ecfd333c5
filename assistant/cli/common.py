"""What every command shares: the consoles, the common options, settings and services, errors.

Commands here and in plugins (eval, ui) build their services with :func:`services_for`, so each
command calls the same composition root as the API and the page.
"""

from __future__ import annotations

import logging
import sys
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from assistant.config import Settings
from assistant.errors import AssistantError, ConfigurationError, InvalidInputError
from assistant.schemas import Filters

if TYPE_CHECKING:
    from assistant.services import Services

console = Console()
err_console = Console(stderr=True)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
NOISY_LOGGERS = ("chromadb", "httpx", "httpx2", "openai", "bm25s")

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Folder of the index (default: $NHS_ASSISTANT_DATA_DIR or ./data)."
    ),
]
DocFilter = Annotated[list[str] | None, typer.Option(help="Only this document id (repeatable).")]
PublisherFilter = Annotated[
    list[str] | None, typer.Option(help="Only this publisher (repeatable).")
]
ThemeFilter = Annotated[list[str] | None, typer.Option(help="Only this theme (repeatable).")]
JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
ModeOption = Annotated[
    str | None,
    typer.Option(
        "--mode",
        help="extractive (quotes, no LLM) or llm (generated, every sentence checked against its "
        "sources; needs NHS_ASSISTANT_LLM_BASE_URL or an API key). Default: answer.mode.",
    ),
]
# Where a server listens (serve, ui): loopback unless asked otherwise.
Host = Annotated[str, typer.Option(help="Address to listen on (loopback by default).")]
Port = Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")]


def settings_for(data_dir: Path | None) -> Settings:
    """Settings from the environment, ``--data-dir`` applied, logging set up."""
    settings = Settings()
    if data_dir is not None:
        settings.data_dir = data_dir
    logging.basicConfig(
        level=getattr(logging, settings.log_level.upper(), logging.INFO),
        format=LOG_FORMAT,
        stream=sys.stderr,
    )
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return settings


def services_for(settings: Settings) -> Services:
    """The composition root's services; a configuration error exits 2 with its message."""
    from assistant.services import build_services

    try:
        return build_services(settings)
    except ConfigurationError as exc:
        raise fail(exc, 2) from exc


def fail(exc: AssistantError, code: int = 1) -> typer.Exit:
    """Print ``exc`` as an error line and return the exit to raise."""
    err_console.print(f"[red]error:[/red] {exc}", highlight=False)
    return typer.Exit(code)


def shown(value: str) -> Text:
    """Text from a file or document for a terminal table: Rich markup in it stays literal, and
    control and direction-changing characters (a newline or right-to-left override in a file
    name) show as escapes instead of garbling the row.
    """
    out = []
    for ch in value:
        if ch.isprintable() and unicodedata.category(ch) not in ("Cf", "Zl", "Zp"):
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return Text("".join(out))


def filters_from(
    doc: list[str] | None, publisher: list[str] | None, theme: list[str] | None
) -> Filters | None:
    f = Filters(doc_ids=doc or None, publishers=publisher or None, themes=theme or None)
    return None if f.is_empty() else f


def progress_bar(*columns: Any, transient: bool = False, disable: bool = False) -> Progress:
    """A progress display on standard error (off when it is not a terminal): a description, a
    bar, then ``columns`` (default: done of total and elapsed time)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        *(columns or (MofNCompleteColumn(), TimeElapsedColumn())),
        console=err_console,
        transient=transient,
        disable=disable or not err_console.is_terminal,
    )


def invalid_input(exc: ValidationError) -> InvalidInputError:
    """The first problem pydantic found, as the error every surface reports ("field: why")."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return InvalidInputError(f"{where}: {str(first['msg']).removeprefix('Value error, ')}")
