"""Airbyte-protocol destination that lands records in Delta Lake tables (Databricks or a local folder)."""
