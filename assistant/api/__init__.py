"""The HTTP API: FastAPI routes over the same services as the command line.

``create_app(build_services(settings))`` gives the ASGI app; ``nhs-assistant serve`` runs it
with uvicorn.
"""

from assistant.api.app import create_app

__all__ = ["create_app"]
