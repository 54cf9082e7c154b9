"""Environment knobs: read once, defaults when unset, a clear error naming the variable when wrong."""
import pytest

from destination_databricks.errors import ConfigError
from destination_databricks.settings import Settings, from_environment, variable


def test_defaults_when_nothing_is_set():
    assert from_environment({}) == Settings()
    assert from_environment({"DESTINATION_DATABRICKS_COMMIT_BYTES": "  "}) == Settings()


def test_values_are_read_with_their_types():
    knobs = from_environment({"DESTINATION_DATABRICKS_COMMIT_BYTES": "1048576", "DESTINATION_DATABRICKS_COMMIT_SECONDS": "0.5",
                              "DESTINATION_DATABRICKS_RETRY_ATTEMPTS": "2", "DESTINATION_DATABRICKS_DEDUP_COMMIT_BYTES": "0"})
    assert (knobs.commit_bytes, knobs.commit_seconds, knobs.retry_attempts, knobs.dedup_commit_bytes) == (1 << 20, 0.5, 2, 0)
    assert isinstance(knobs.commit_bytes, int) and isinstance(knobs.commit_seconds, float)


@pytest.mark.parametrize("name, value, says", [
    ("BUFFER_BYTES", "lots", "must be a whole number"),
    ("BATCH_ROWS", "1.5", "must be a whole number"),
    ("BATCH_ROWS", "0", "must be at least 1"),
    ("COMMIT_SECONDS", "-1", "must be at least 0.0"),
    ("RETRY_MAX_SECONDS", "soon", "must be a number"),
])
def test_a_wrong_value_names_its_variable(name, value, says):
    with pytest.raises(ConfigError, match=f"DESTINATION_DATABRICKS_{name}.*{says}"):
        from_environment({f"DESTINATION_DATABRICKS_{name}": value})


def test_every_knob_has_its_variable_named_in_the_docs():
    import dataclasses
    import pathlib

    doc = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "architecture.md").read_text()
    named = [variable(f.name) for f in dataclasses.fields(Settings)]
    missing = [v for v in named if v not in doc and "_" + v.removeprefix("DESTINATION_DATABRICKS_") not in doc]
    assert missing == []
