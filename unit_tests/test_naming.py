"""Stream and property names → identifiers safe in SQL and storage paths."""
from destination_databricks.naming import StreamKey, TableName, column_names, sanitize, suffixed, table_name


def test_hostile_characters_become_underscores():
    for raw in ["a`b", 'a"b', "a'b", "a;b", "a b", "a/b", "a.b", "a\nb", "a\x00b", "a-b", "a=b", "a{b}"]:
        assert sanitize(raw, lowercase=True) in ("a_b", "a_b_")


def test_dot_dot_slash_cannot_climb_out():
    assert sanitize("../../etc/passwd", lowercase=True) == "______etc_passwd"
    assert sanitize("..", lowercase=True) == "__"


def test_unicode_is_transliterated():
    assert sanitize("Zoë Café", lowercase=True) == "zoe_cafe"
    assert sanitize("名前", lowercase=False) == "MingQian"


def test_leading_digit_and_empty_names_get_an_underscore():
    assert sanitize("1abc", lowercase=True) == "_1abc"
    assert sanitize("", lowercase=True) == "_"


def test_long_names_are_cut_with_a_hash_that_keeps_them_distinct():
    a, b = sanitize("x" * 500, lowercase=True), sanitize("x" * 499 + "y", lowercase=True)
    assert len(a) == 120 and len(b) == 120 and a != b


def test_namespace_replaces_default_schema():
    assert table_name(StreamKey(None, "Users"), "Default") == TableName("default", "users")
    assert table_name(StreamKey("Sales DB", "Users"), "default") == TableName("sales_db", "users")


def test_column_names_are_distinct_case_insensitively_and_avoid_airbyte_columns():
    assert column_names(["id", "ID", "Id", "_airbyte_ab_id", "_AIRBYTE_META", "a b", "a_b"]) == [
        "id", suffixed("ID"), suffixed("Id"), suffixed("_airbyte_ab_id"), suffixed("_AIRBYTE_META"), suffixed("a b"), "a_b"]
    assert suffixed("ID") == "ID_3843971d"  # the property's own hash: it names which property the column holds


def test_column_names_do_not_depend_on_the_order_properties_come_in():
    properties = ["ID", "id", "Id", "a b", "a_b", "A B"]
    first = dict(zip(properties, column_names(properties)))
    for order in (properties[::-1], sorted(properties), properties[2:] + properties[:2]):
        assert dict(zip(order, column_names(order))) == first


def test_column_names_are_read_back_from_the_table():
    # The table was made when the stream had only `ID`: it keeps `ID`; `id`, new, cannot take the plain name.
    assert column_names(["id", "ID"], existing=["_airbyte_ab_id", "ID"]) == [suffixed("id"), "ID"]
    # Whatever order a re-discovered catalog lists them in, each property finds its column again.
    table = ["_airbyte_ab_id", "id", suffixed("ID"), "a_b", suffixed("a b")]
    assert column_names(["a b", "ID", "a_b", "id"], existing=table) == [suffixed("a b"), suffixed("ID"), "a_b", "id"]
    # A column that differs only in case (a table another tool wrote) is the property's column.
    assert column_names(["Name"], existing=["name"]) == ["name"]
    # A table of the earlier `_2` scheme: `id` keeps `id`; `ID` gets its own column, `ID_2` is left unfilled.
    assert column_names(["ID", "id"], existing=["id", "ID_2"]) == [suffixed("ID"), "id"]
