"""`nhs-assistant soak`: the API under a bounded mixed load, with memory, feedback and rate limits
checked.

``run.py`` orchestrates (servers, the client process, memory samples, the feedback store);
``clients.py`` is the load generator (a separate process); ``report.py`` computes the figures
and checks; ``cli.py`` is the command (also ``python -m eval.soak``).
"""
