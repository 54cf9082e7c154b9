"""Staging: where a sync's records wait, as files, before they are loaded into their tables."""
