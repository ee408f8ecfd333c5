"""The language model role: one factory (OpenAI, Azure OpenAI, a scripted fake) and a caller
that retries, bounds every wait, and turns failures into :class:`BackendUnavailableError`."""
