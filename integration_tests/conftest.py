import pytest

from .destinations import AzureDatabricksDestination, LocalDestination, S3DatabricksDestination
from .warehouse_fixture import local_warehouse


@pytest.fixture
def warehouse():
    """A fresh local warehouse per test: its metastore starts empty, like a new workspace."""
    with local_warehouse() as details:
        yield details


@pytest.fixture(params=["local", "s3", "azure"])
def destination(request, tmp_path):
    if request.param == "local":
        return LocalDestination(tmp_path / "out")
    warehouse = request.getfixturevalue("warehouse")
    if request.param == "s3":
        return S3DatabricksDestination(warehouse)
    assert warehouse["azure_endpoint"], "Azurite is not installed: run `make install` (npm install)"
    return AzureDatabricksDestination(warehouse)
