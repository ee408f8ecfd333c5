"""``python -m eval.soak``: the same as ``nhs-assistant soak``."""

from eval.soak.cli import soak_app

soak_app()
