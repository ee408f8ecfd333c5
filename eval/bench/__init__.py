"""`nhs-assistant bench`: ingestion, query, API, scale and start-up figures beside the recipe.

``run.py`` orchestrates; ``stages.py`` measures in-process stages; ``load.py`` is the load
generator (a separate process); ``server.py`` starts the API; ``scale.py`` builds and queries
synthetic indexes in child processes; ``synthetic.py`` makes their chunks; ``gates.py`` holds the
targets and the quick-mode ratio gates; ``report.py`` writes JSON, Markdown and the plot.
"""
