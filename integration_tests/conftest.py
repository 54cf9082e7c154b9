import pytest

from .destinations import LocalDestination


@pytest.fixture(params=["local"])
def destination(request, tmp_path):
    if request.param == "local":
        return LocalDestination(tmp_path / "out")
    raise AssertionError(request.param)
