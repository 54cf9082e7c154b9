"""How the connector names itself to Databricks: `destination-databricks/<version>` in the User-Agent of every
SQL connection (databricks-sql-connector's `user_agent_entry`) and every databricks-sdk call (its product, set
process-wide: workspace discovery, the Files API, Vector Search), so a workspace can attribute its calls. The
SDK's OAuth token request is the one call it sends with requests' own User-Agent; nothing of ours can change that
short of replacing its sign-in."""
from __future__ import annotations

from importlib import metadata

PRODUCT = "destination-databricks"


def version() -> str:
    try:
        return metadata.version(PRODUCT)
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0.0.0"


def user_agent_entry() -> str:
    return f"{PRODUCT}/{version()}"
