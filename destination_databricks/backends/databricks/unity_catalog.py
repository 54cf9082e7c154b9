"""A schema's tables as Unity Catalog's REST API lists them (databricks-sdk `tables.list`): their columns and
properties without a SQL statement, so a sync that needs no statement otherwise (direct ingest into existing
tables) needs no running warehouse either."""
from __future__ import annotations

from .listing import Lister, tables_from_catalog
from .sql_client import SchemaNotFound
from .staging.volume import files_error
from .workspace import SignIn


def catalog_lister(signin: SignIn) -> Lister:
    def listed(catalog: str, schema: str):
        from databricks.sdk import errors

        try:
            infos = list(signin.workspace().tables.list(catalog_name=catalog, schema_name=schema))
        except errors.NotFound:
            raise SchemaNotFound(f"Schema {catalog}.{schema} does not exist.") from None
        except Exception as exc:
            raise files_error(exc, f"list the tables of {catalog}.{schema}") from None
        return tables_from_catalog(infos)

    return listed
