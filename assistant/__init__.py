"""NHS leaders' assistant: cited answers from a curated corpus about the 10 Year Health Plan."""

__version__ = "0.1.0"
