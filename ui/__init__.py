"""The Gradio UI for managers: ``build_ui`` makes the page, ``launch_ui``/``mount_ui`` serve it."""

from ui.app import build_ui, launch_ui, mount_ui

__all__ = ["build_ui", "launch_ui", "mount_ui"]
