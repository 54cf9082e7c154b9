"""Stream and property names → identifiers safe in SQL and storage paths."""
from destination_databricks.naming import StreamKey, TableName, column_names, sanitize, table_name


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
    assert column_names(["id", "ID", "Id", "_airbyte_ab_id", "a b", "a_b"]) == [
        "id", "ID_2", "Id_3", "_airbyte_ab_id_2", "a_b", "a_b_2"]
