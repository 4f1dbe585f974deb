"""No value is ever pasted into SQL: every statement the code sends is a constant, SQL read from
the repository's files, or composed with psycopg2.sql (identifiers quoted, values bound).

The check reads the code (its syntax tree): any execute / executemany / copy_expert / mogrify
whose statement is built with an f-string, `%`, `.format()` on text, or `+` fails, naming the file
and line. A statement held in a local variable is judged by what was assigned to it.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = [ROOT / "plugins", ROOT / "dags"]
SENDS_SQL = {"execute", "executemany", "copy_expert", "mogrify"}


def built_by_interpolation(node: ast.AST) -> str | None:
    """Why this expression is SQL text built from values, or None when it is not."""
    if isinstance(node, ast.JoinedStr) and any(isinstance(v, ast.FormattedValue)
                                               for v in node.values):
        return "an f-string"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return "%-formatting"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return "concatenation"
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("format", "format_map", "join", "replace")
            and not _is_psycopg2_sql(node.func.value)):
        return f"str.{node.func.attr}()"
    return None


def _is_psycopg2_sql(node: ast.AST) -> bool:
    """sql.SQL("…") (or sql.SQL(", ")), the composition psycopg2 quotes safely."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "SQL")


FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _own_nodes(scope: ast.AST):
    """The nodes of one scope (module or function), not those of the functions inside it."""
    pending = list(ast.iter_child_nodes(scope))
    while pending:
        node = pending.pop()
        yield node
        if not isinstance(node, FUNCTIONS):
            pending.extend(ast.iter_child_nodes(node))


def violations(source: str, filename: str = "<code>") -> list[str]:
    tree = ast.parse(source, filename)
    found = []
    for scope in [tree, *[n for n in ast.walk(tree) if isinstance(n, FUNCTIONS)]]:
        nodes = list(_own_nodes(scope))
        assigned: dict[str, list[ast.AST]] = {}
        for node in nodes:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).append(node.value)
        for node in nodes:
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in SENDS_SQL and node.args):
                continue
            statement = node.args[0]
            candidates = assigned.get(statement.id, []) if isinstance(statement, ast.Name) else [
                statement]
            for candidate in candidates:
                why = built_by_interpolation(candidate)
                if why:
                    found.append(f"{filename}:{node.lineno}: {node.func.attr}() of SQL built by {why}")
    return sorted(set(found))


def python_files() -> list[Path]:
    return sorted(p for folder in SCANNED for p in folder.rglob("*.py"))


def test_no_statement_is_built_from_values():
    problems = [v for path in python_files()
                for v in violations(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert problems == []


def test_the_scan_covers_the_pipeline_and_the_dags():
    scanned = {str(p.relative_to(ROOT)) for p in python_files()}
    assert {"plugins/htx/pipeline.py", "plugins/htx/db.py", "plugins/htx/marts.py"} <= scanned
    assert any(name.startswith("dags/") for name in scanned)


@pytest.mark.parametrize("code", [
    'cur.execute(f"SELECT * FROM t WHERE code = \'{code}\'")',
    'cur.execute("SELECT * FROM t WHERE code = \'%s\'" % code)',
    'cur.execute("SELECT * FROM {} WHERE x = 1".format(table))',
    'cur.execute("DELETE FROM " + table)',
    'statement = f"DROP TABLE {name}"\ncur.execute(statement)',
    'cur.copy_expert(f"COPY {table} FROM STDIN", buffer)',
])
def test_the_scan_catches_values_pasted_into_sql(code):
    assert len(violations("def load(cur, code, table, name, buffer):\n"
                          + "".join(f"    {line}\n" for line in code.splitlines()))) == 1


@pytest.mark.parametrize("code", [
    'cur.execute("SELECT * FROM t WHERE code = %s", (code,))',
    'cur.execute(sql.SQL("DELETE FROM {} WHERE batch_id = %s").format(sql.Identifier(t)), (1,))',
    'cur.execute(sql.SQL(", ").join(parts))',
    'statement = sql.SQL("COPY {} FROM STDIN").format(q)\ncur.copy_expert(statement.as_string(cur), b)',
    'cur.execute(path.read_text(), params)',
])
def test_bound_values_and_psycopg2_composition_pass(code):
    assert violations("def load(cur, code, t, parts, q, b, path, params):\n"
                      + "".join(f"    {line}\n" for line in code.splitlines())) == []
