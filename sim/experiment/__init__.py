"""Experiment layer: many replications of one or more scenarios, on any backend, streamed to disk."""
