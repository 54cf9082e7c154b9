"""Where the Databricks backend stages a load's files: one ObjectStore per store, one stager for all (remote.py)."""
