"""Adapters for other frameworks; each imports its framework (an optional extra) only in its own module."""
