"""``python -m assistant.cli``: the same as ``nhs-assistant``."""

from assistant.cli import app

app()
