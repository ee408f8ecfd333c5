"""The Gradio UI for managers: ``build_ui`` makes the page, ``launch_ui``/``mount_ui`` serve it.

Gradio takes seconds to import, so ``ui.app`` is imported on first use of these names: the
``nhs-assistant`` command (which registers ``ui`` through an entry point) starts without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ui.app import build_ui, launch_ui, mount_ui

__all__ = ["build_ui", "launch_ui", "mount_ui"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from ui import app

        return getattr(app, name)
    raise AttributeError(f"module 'ui' has no attribute {name!r}")
