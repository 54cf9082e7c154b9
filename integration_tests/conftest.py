import pytest

from .destinations import AzureDatabricksDestination, LocalDestination, ManagedDestination, S3DatabricksDestination
from .warehouse_fixture import local_warehouse


@pytest.fixture
def warehouse():
    """A fresh local warehouse per test: its metastore starts empty, like a new workspace."""
    with local_warehouse() as details:
        yield details


@pytest.fixture(params=["local", "s3", "azure", "managed", "managed-oauth"])
def destination(request, tmp_path):
    if request.param == "local":
        return LocalDestination(tmp_path / "out")
    warehouse = request.getfixturevalue("warehouse")
    if request.param == "s3":
        return S3DatabricksDestination(warehouse)
    if request.param.startswith("managed"):
        return ManagedDestination(warehouse, oauth=request.param == "managed-oauth")
    assert warehouse["azure_endpoint"], "Azurite is not installed: run `make install` (npm install)"
    return AzureDatabricksDestination(warehouse)
