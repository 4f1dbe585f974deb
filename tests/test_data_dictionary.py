"""The data dictionary: every mart table and column commented (Vietnamese — English), and
docs/data_dictionary.md what `python -m htx dictionary` writes from a freshly migrated warehouse."""
from htx import dictionary
from htx.cli import main


def test_every_mart_table_and_column_has_a_comment_in_both_languages(warehouse):
    catalogue = dictionary.read_catalogue(warehouse)
    (schema, comment, relations), = catalogue
    assert schema == "mart" and comment
    names = {relation.name for relation in relations}
    assert {"plan_indicator", "plan_indicator_members", "reporting_period", "refresh_log",
            "plan_target"} <= names
    assert dictionary.uncommented(catalogue) == []
    for relation in relations:
        texts = [relation.comment] + [column.comment for column in relation.columns]
        assert all(" — " in text for text in texts), relation.qualified   # "Tiếng Việt — English"


def test_the_committed_dictionary_is_what_a_fresh_warehouse_gives(warehouse):
    committed = dictionary.DOC_PATH.read_text(encoding="utf-8")
    assert dictionary.render(dictionary.read_catalogue(warehouse)) == committed, (
        "docs/data_dictionary.md is out of date: run `python -m htx dictionary`")
    assert "`mart.plan_indicator_members` (view)" in committed


def test_the_command_writes_the_dictionary(warehouse, tmp_path, capsys):
    out = tmp_path / "dictionary.md"
    assert main(["dictionary", "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    assert out.read_text(encoding="utf-8") == dictionary.DOC_PATH.read_text(encoding="utf-8")


def test_a_missing_comment_is_reported():
    column = dictionary.Column("value", "numeric", True, None)
    relation = dictionary.Relation("mart", "new_table", "table", None, (column,))
    assert dictionary.uncommented([("mart", "x", [relation])]) == [
        "mart.new_table", "mart.new_table.value"]
    assert "chưa có chú thích" in dictionary.render([("mart", "x", [relation])])
