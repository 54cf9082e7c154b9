import pytest

from .destinations import LocalDestination, S3DatabricksDestination
from .warehouse_fixture import local_warehouse


@pytest.fixture
def warehouse():
    """A fresh local warehouse per test: its metastore starts empty, like a new workspace."""
    with local_warehouse() as details:
        yield details


@pytest.fixture(params=["local", "s3"])
def destination(request, tmp_path):
    if request.param == "local":
        return LocalDestination(tmp_path / "out")
    return S3DatabricksDestination(request.getfixturevalue("warehouse"))
