"""`nhs-assistant`: the one command line in front of everything.

Each command parses its options, builds the services from settings (the composition root), calls
one service and prints the result; no business rules live here. The core's commands are in this
package (documents, ask, corpus, serve); the evaluation harness and the web page add theirs
through entry points (:mod:`assistant.cli.plugins`), so the core never imports them.
"""

from __future__ import annotations

import typer

from assistant.cli.ask import ask, retrieve
from assistant.cli.audit import audit_app
from assistant.cli.corpus import corpus_app
from assistant.cli.documents import INGEST_HELP, index_app, ingest
from assistant.cli.plugins import register_plugins
from assistant.cli.serve import feedback_app, serve

app = typer.Typer(
    help="Cited answers for NHS leaders from a curated corpus (offline by default).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command(help=INGEST_HELP)(ingest)
app.add_typer(index_app, name="index")
app.command()(retrieve)
app.command()(ask)
app.add_typer(corpus_app, name="corpus")
app.command()(serve)
app.add_typer(feedback_app, name="feedback")
app.add_typer(audit_app, name="audit")
register_plugins(app)


def main() -> None:  # pragma: no cover - console entry point wrapper
    app()


__all__ = ["app", "main"]
