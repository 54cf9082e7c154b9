"""An existing table's layout is changed only where the schema's listing shows it differs from the config's, once
per sync; a new table is created with it (a deduplicated one clustered by its key unless told otherwise)."""
import pyarrow as pa

from destination_databricks.backends.databricks.layouts import Layouts
from destination_databricks.backends.databricks.listing import listed_properties, tables_with_properties
from destination_databricks.layout import TableLayout
from destination_databricks.naming import TableName

T = TableName("s", "t")


class Recorder:
    """A SQL client that keeps what it is sent."""

    def __init__(self):
        self.sent = []

    def execute(self, statement, what):
        self.sent.append(statement)


def test_the_listing_tells_a_tables_properties():
    info = "Table: t\nComment: x\nTable Properties: [airbyte.clustered_by=a,b, delta.enableDeletionVectors=true]\nSchema: root"
    assert listed_properties(info) == {"airbyte.clustered_by": "a,b", "delta.enableDeletionVectors": "true"}
    assert listed_properties("Table: t\nSchema: root") is None
    rows = pa.table({"tableName": ["t", "u"], "information": [info, "Table: u"]})
    assert list(tables_with_properties(rows)) == ["t"]


def test_new_tables_and_the_defaults():
    layouts = Layouts("main", {T: TableLayout(("a",), (), (("k", "v"),))}, frozenset({T}))
    made = layouts.new_table(T, key=("id",))
    assert made.clustering == ("a",)  # the config's, not the key
    assert made.properties == (("delta.enableDeletionVectors", "true"), ("delta.enableChangeDataFeed", "true"),
                               ("k", "v"), ("airbyte.clustered_by", "a"))
    other = TableName("s", "other")
    assert layouts.new_table(other, key=("id",)).clustering == ("id",)  # not in the config: the key
    assert Layouts("main", {T: TableLayout(None, ("d",))}, frozenset()).new_table(T, ("id",)).clustering == ()
    assert Layouts("main", {T: TableLayout("NONE")}, frozenset()).new_table(T, ("id",)).clustering == ()


def test_an_existing_table_is_altered_only_where_it_differs_and_once():
    layouts = Layouts("main", {T: TableLayout(("a", "b"), (), (("k", "v"),))}, frozenset())
    layouts.listed[T] = {"airbyte.clustered_by": "a,b", "k": "v"}
    client = Recorder()
    layouts.existing_table(client, T)
    assert client.sent == []  # as asked already
    changed = Layouts("main", {T: TableLayout(("b",), (), (("k", "w"),))}, frozenset())
    changed.listed[T] = {"airbyte.clustered_by": "a,b", "k": "v", "other": "1"}
    changed.existing_table(client, T)
    changed.existing_table(client, T)  # once per sync
    assert client.sent == ["ALTER TABLE `main`.`s`.`t` CLUSTER BY (`b`)",
                           "ALTER TABLE `main`.`s`.`t` SET TBLPROPERTIES ('k' = 'w', 'airbyte.clustered_by' = 'b')"]
    untouched = Recorder()
    Layouts("main", {}, frozenset()).existing_table(untouched, T)  # a table the config does not name
    props_only = Layouts("main", {T: TableLayout(None, (), (("k", "v"),))}, frozenset())
    props_only.listed[T] = {"k": "v"}
    props_only.existing_table(untouched, T)  # no cluster_by in the config: its clustering is left as it is
    assert untouched.sent == []


def test_comments_change_only_for_a_described_stream_whose_digest_differs():
    described = pa.schema([pa.field("id", pa.int64(), metadata={"comment": "the id"}), ("n", pa.string())])
    made = Layouts("main", {}, frozenset()).new_table(T, (), described, "table t")
    digest = dict(made.properties)["airbyte.comments"]
    layouts = Layouts("main", {}, frozenset())
    layouts.listed[T] = {"airbyte.comments": digest}
    client = Recorder()
    layouts.existing_table(client, T, (), described, "table t")
    layouts.existing_table(client, T, (), pa.schema([("n", pa.string())]), "table t")
    assert client.sent == []  # as listed; a stream without descriptions leaves comments alone
    changed = Layouts("main", {}, frozenset())
    changed.listed[T] = {"airbyte.comments": digest}
    changed.existing_table(client, T, (), described, "table t, renamed")
    assert client.sent[:2] == ["ALTER TABLE `main`.`s`.`t` ALTER COLUMN `id` COMMENT 'the id'",
                               "COMMENT ON TABLE `main`.`s`.`t` IS 'table t, renamed'"]
    assert client.sent[2].startswith("ALTER TABLE `main`.`s`.`t` SET TBLPROPERTIES ('airbyte.comments' = '")
    shadow = Recorder()
    Layouts("main", {}, frozenset()).existing_table(shadow, TableName("s", "_airbyte_tmp_g2_t"), (), described, "x")
    assert shadow.sent == []  # a refresh's shadow is the connector's own: not commented
