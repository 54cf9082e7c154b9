"""The destinations the contract suite runs against: each knows its config and how to read a table back."""
from __future__ import annotations

import os

from .delta_reader import rows as delta_rows


class LocalDestination:
    """The embedded default: Delta tables under a local folder, read back by an independent reader."""

    name = "local"

    def __init__(self, root):
        self.root = str(root)

    def config(self, **overrides) -> dict:
        config = {"data_source": {"data_source_type": "LOCAL", "local_path": self.root}, "schema": "default"}
        config.update(overrides)
        return config

    def table_exists(self, schema: str, table: str) -> bool:
        return os.path.isdir(os.path.join(self.root, schema, table, "_delta_log"))

    def rows(self, schema: str, table: str) -> list[dict]:
        return delta_rows(os.path.join(self.root, schema, table))

    def staging_leftovers(self) -> list[str]:
        staging = os.path.join(self.root, ".airbyte-staging")
        found = []
        for dirpath, _, files in os.walk(staging):
            found += [os.path.join(dirpath, f) for f in files]
        return found
