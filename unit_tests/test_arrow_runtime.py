"""pyarrow is kept from importing pandas for its own checks, and pandas still works for whoever asks."""
import subprocess
import sys

SCRIPT = """
import sys
from destination_databricks.records.arrow_runtime import configure
configure()
import pyarrow as pa
pa.array([1, None]); pa.array([{"a": "b"}]); pa.scalar(None, pa.string())
import destination_databricks.write, destination_databricks.sync
print("pandas" in sys.modules)
import pandas
print(pa.table({"a": [1, 2]}).to_pandas()["a"].tolist(), pa.array(pandas.Series([3])).to_pylist())
"""


def test_arrow_conversions_do_not_import_pandas_but_explicit_pandas_calls_work():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:2] == ["False", "[1, 2] [3]"]
