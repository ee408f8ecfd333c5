"""Adapters that let other frameworks use the assistant: each wraps the same services (in
process) or the HTTP API (over the network), never the stores directly."""
