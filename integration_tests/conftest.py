import pytest

from .destinations import (AzureDatabricksDestination, LocalDestination, ManagedDestination, S3DatabricksDestination,
                           ZerobusDestination)
from .warehouse_fixture import SharedWarehouse


@pytest.fixture(scope="session")
def _shared_warehouse():
    shared = SharedWarehouse()
    yield shared
    shared.close()


@pytest.fixture
def warehouse(_shared_warehouse):
    """A local warehouse as a new workspace has it: its metastore and stores empty, no count or hook left over.
    One process serves the tests of a worker, emptied before each test that uses it."""
    return _shared_warehouse.details()


@pytest.fixture(params=["local", "s3", "azure", "managed", "managed-oauth", "zerobus"])
def destination(request, tmp_path):
    if request.param == "local":
        return LocalDestination(tmp_path / "out")
    warehouse = request.getfixturevalue("warehouse")
    if request.param == "s3":
        return S3DatabricksDestination(warehouse)
    if request.param == "zerobus":
        return ZerobusDestination(warehouse)
    if request.param.startswith("managed"):
        return ManagedDestination(warehouse, oauth=request.param == "managed-oauth")
    assert warehouse["azure_endpoint"], "Azurite is not installed: run `make install` (npm install)"
    return AzureDatabricksDestination(warehouse)


def pytest_collection_modifyitems(items):
    """The longest tests first (SIGKILL-and-resume: up to a minute and a half each), so the suite does not end with
    one worker running them while the other idles."""
    items.sort(key=lambda item: "test_kill_and_resume.py" not in item.nodeid)
