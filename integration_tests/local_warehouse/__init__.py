"""A local stand-in for a Databricks SQL warehouse: Sail (a Delta SQL engine) behind Thrift over HTTP.

The unpatched databricks-sql-connector talks to it exactly as to a workspace; only the URL differs.
"""
