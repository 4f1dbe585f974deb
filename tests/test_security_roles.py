"""Who may do what in the warehouse (migrations 0012_roles.sql, 0020_least_privilege.sql), proven
by logging in.

The DAGs log in as their own login (localpg.DAGS_LOGIN here, `htx_dags` in the compose stack),
which `python -m htx migrate` makes a member of `htx_loader` and nothing more: it cannot reset
to a superuser, run programs on the database host, create roles, or read the personal columns it
writes. A real loader login (not a superuser) runs a whole feed and the marts. An analyst login
user (member of `htx_analyst`, created here with a random password) reads the marts and the
non-personal core columns, sees legal representatives' ID numbers only masked, their names never,
and can write and create nothing anywhere — not even a temporary table.
"""
import json
import os
import re
import secrets
import uuid
from urllib.parse import urlsplit

import psycopg2
import pytest
from psycopg2 import errors, sql

from conftest import SERVER, as_dags_login, query
from faults_support import fresh_warehouse, run_feed, valid_codes
from htx import db, marts, pipeline
from htx.dev import localpg

PERSONAL = {"legal_rep_name", "legal_rep_id_number"}
ID_NUMBER = "022090001234"


def item(code: str) -> dict:
    return {"entity_code": code, "entity_type": "HTX", "name": "Hợp tác xã Thử",
            "main_vsic": "0111", "locality": "Hạ Long", "registered_on": "2024-02-01",
            "status": "dang_hoat_dong", "status_since": "2024-02-01", "members": 9,
            "charter_capital_vnd": 10**9, "updated_at": "2024-03-01T10:00:00+07:00",
            "legal_representative": {"full_name": "Nguyễn Văn A", "id_number": ID_NUMBER}}


class Login:
    """A login user made a member of a group role, with a random password; dropped after."""

    def __init__(self, group: str):
        self.name = f"htx_t_{group.split('_')[-1]}_{uuid.uuid4().hex[:8]}"
        self.password = secrets.token_urlsafe(18)
        self.group = group

    def __enter__(self) -> "Login":
        self._admin(sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s IN ROLE {}").format(
            sql.Identifier(self.name), sql.Identifier(self.group)), (self.password,))
        return self

    def __exit__(self, *exc) -> None:
        self._admin(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(self.name)))

    @staticmethod
    def _admin(statement, params=None) -> None:
        conn = psycopg2.connect(SERVER.uri("postgres"))
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(statement, params)
        finally:
            conn.close()

    def dsn(self, warehouse_dsn: str) -> str:
        """The warehouse's URI with this login (the password is URL-safe by construction)."""
        database = psycopg2.extensions.parse_dsn(warehouse_dsn)["dbname"]
        return (f"postgresql://{self.name}:{self.password}@{SERVER.host}:{SERVER.port}/"
                f"{database}")


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    """A warehouse loaded by a loader login user — not a superuser — with registry rows (and
    their legal representatives) and refreshed marts; and an analyst login user."""
    from htx.dev.registry_standin import RegistryStandIn

    token = secrets.token_urlsafe(12)
    standin = RegistryStandIn([item(code) for code in valid_codes(3)], token).start()
    names = ("AIRFLOW_CONN_HTX_WAREHOUSE", "HTX_LANDING_URL", "AIRFLOW_CONN_HTX_REGISTRY_API")
    saved = {k: os.environ.get(k) for k in names}
    try:
        with fresh_warehouse() as dsn, Login("htx_loader") as loader, Login("htx_analyst") as analyst:
            os.environ.update({
                "AIRFLOW_CONN_HTX_WAREHOUSE": loader.dsn(dsn),
                "HTX_LANDING_URL": str(tmp_path_factory.mktemp("landing")),
                "AIRFLOW_CONN_HTX_REGISTRY_API": f'{{"conn_type": "http", "host": '
                                                 f'"{standin.base_url}", "password": "{token}"}}'})
            batches = run_feed("registrations", pipeline.RunInfo("htx_feed_registrations", "r1"))
            marts.refresh()
            os.environ["AIRFLOW_CONN_HTX_WAREHOUSE"] = as_dags_login(dsn)
            run_feed("registrations", pipeline.RunInfo("htx_feed_registrations", "r2"))
            yield dsn, loader.dsn(dsn), analyst.dsn(dsn), batches
    finally:
        standin.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def refused(dsn: str, statement: str) -> bool:
    """Whether the server refuses `statement` to this login for lack of privilege."""
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
        return False
    except errors.InsufficientPrivilege:
        return True
    finally:
        conn.rollback()
        conn.close()


def test_the_roles_are_groups_that_cannot_log_in_nor_bypass_anything(province):
    assert query(SERVER.uri("postgres"),
                 "SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls"
                 " FROM pg_roles WHERE rolname IN ('htx_analyst', 'htx_loader') ORDER BY 1") == [
        ("htx_analyst", False, False, False, False, False),
        ("htx_loader", False, False, False, False, False)]


def test_a_loader_login_not_a_superuser_ran_the_feed_and_the_marts(province):
    dsn, loader, _, batches = province
    assert query(loader, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user") == [(False,)]
    assert query(dsn, "SELECT status FROM audit.load_batch WHERE batch_id = ANY(%s)",
                 (batches,)) == [("published",)]
    assert query(dsn, "SELECT count(*) FROM core.registration_state") == [(3,)]
    assert query(dsn, "SELECT count(*) > 0 FROM mart.plan_indicator") == [(True,)]


def test_the_pipeline_works_as_the_loader_even_on_a_superuser_connection(warehouse):
    with db.transaction(warehouse) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_user, session_user")
        assert cur.fetchone() == ("htx_loader", "postgres")
    with db.transaction(warehouse, role=None) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_user")  # migrations keep the owner's rights
        assert cur.fetchone() == ("postgres",)


def test_the_dags_login_is_a_loader_and_nothing_more(province):
    dsn, _, _, _ = province
    assert query(dsn, "SELECT r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolcreatedb,"
                      " r.rolbypassrls, array_agg(g.rolname)"
                      " FROM pg_roles r JOIN pg_auth_members m ON m.member = r.oid"
                      " JOIN pg_roles g ON g.oid = m.roleid WHERE r.rolname = %s"
                      " GROUP BY 1, 2, 3, 4, 5", (localpg.DAGS_LOGIN,)) == [
        (True, False, False, False, False, ["htx_loader"])]
    # It loaded the registry's second pull (the province fixture's run r2).
    assert query(dsn, "SELECT count(*) FROM audit.load_batch WHERE run_id = 'r2'"
                      " AND status = 'published'") == [(1,)]


def test_the_dags_login_cannot_reset_to_a_superuser(province):
    conn = psycopg2.connect(as_dags_login(province[0]))
    try:
        with conn.cursor() as cur:
            cur.execute("SET ROLE htx_loader")
            cur.execute("RESET ROLE")  # inside a transaction, as an attacker's SQL would
            cur.execute("SELECT current_user, current_setting('is_superuser')")
            assert cur.fetchone() == (localpg.DAGS_LOGIN, "off")
            for statement in ("SET ROLE postgres", "SET SESSION AUTHORIZATION postgres"):
                cur.execute("SAVEPOINT attempt")
                with pytest.raises(errors.InsufficientPrivilege):
                    cur.execute(statement)
                cur.execute("ROLLBACK TO SAVEPOINT attempt")
    finally:
        conn.close()


@pytest.mark.parametrize("statement", [
    "COPY (SELECT 1) TO PROGRAM 'id'",
    "COPY audit.load_batch (feed) FROM PROGRAM 'id'",
    "SELECT pg_read_file('/etc/hostname')",
    "CREATE ROLE made_by_the_dags LOGIN",
    "ALTER ROLE htx_dags SUPERUSER",
    "GRANT htx_analyst TO htx_dags",
    "SELECT legal_rep_id_number FROM core.registration_state",
    "SELECT legal_rep_name FROM core.registration_state",
    "SELECT * FROM core.registry_current",
])
def test_the_dags_login_cannot_run_programs_create_roles_or_read_personal_data(province,
                                                                                statement):
    assert refused(as_dags_login(province[0]), statement)


def test_the_dags_login_reads_the_registry_with_id_numbers_masked(province):
    masked = query(as_dags_login(province[0]), "SELECT DISTINCT legal_rep_id_number_masked"
                                          " FROM core.registry_current_public")
    assert masked == [("022*******34",)]


def test_migrate_makes_the_configured_dags_login_and_refuses_a_superuser_one(monkeypatch):
    """`python -m htx migrate` as the owner (htx_warehouse_owner) makes the DAGs' login
    (htx_warehouse) a loader — creating it when missing — and will not run for a superuser one."""
    from htx.migrate import migrate

    name, password = f"htx_t_dags_{uuid.uuid4().hex[:8]}", secrets.token_urlsafe(18)
    with fresh_warehouse() as dsn:
        database = psycopg2.extensions.parse_dsn(dsn)["dbname"]

        def dags_connection(login: str) -> None:
            monkeypatch.setenv("AIRFLOW_CONN_HTX_WAREHOUSE", json.dumps({
                "conn_type": "postgres", "host": SERVER.host, "port": SERVER.port,
                "login": login, "password": password, "schema": database}))

        monkeypatch.setenv("AIRFLOW_CONN_HTX_WAREHOUSE_OWNER", dsn)
        try:
            dags_connection(name)
            migrate()
            assert query(dsn, "SELECT rolsuper, pg_has_role(oid, 'htx_loader', 'MEMBER')"
                              " FROM pg_roles WHERE rolname = %s", (name,)) == [(False, True)]
            with db.transaction() as conn, conn.cursor() as cur:  # as that login, now
                cur.execute("SELECT session_user, current_user")
                assert cur.fetchone() == (name, "htx_loader")
            Login._admin(sql.SQL("CREATE ROLE {} LOGIN SUPERUSER PASSWORD %s").format(
                sql.Identifier(name + "_su")), (password,))
            dags_connection(name + "_su")
            with pytest.raises(RuntimeError, match="is a superuser"):
                migrate()
        finally:
            for role in (name, name + "_su"):
                Login._admin(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.mark.parametrize("in_transaction", [True, False])
def test_two_migrators_making_the_same_dags_login_at_once_both_succeed(in_transaction):
    """Roles are the server's, shared by every database's migrator: a migrator whose CREATE ROLE
    waits on another's uncommitted one finds the role made, and goes on."""
    import threading
    import time

    from htx.migrate import grant_dags_login

    name, password = f"htx_t_race_{uuid.uuid4().hex[:8]}", secrets.token_urlsafe(18)
    first = psycopg2.connect(SERVER.uri("postgres"))
    second = psycopg2.connect(SERVER.uri("postgres"))
    # migrate runs it in its transaction; the tests' as_dags_login in autocommit
    second.autocommit = not in_transaction
    try:
        with first.cursor() as cur:
            grant_dags_login(cur, name, password)   # made, not yet committed
            outcome = []
            racer = threading.Thread(target=lambda: outcome.append(
                _attempt(grant_dags_login, second.cursor(), name, password)))
            racer.start()
            while not query(SERVER.uri("postgres"), "SELECT 1 FROM pg_stat_activity WHERE pid ="
                            " %s AND wait_event_type = 'Lock'", (second.get_backend_pid(),)):
                assert racer.is_alive(), outcome
                time.sleep(0.05)
        first.commit()
        racer.join(60)
        assert outcome == [None]
        second.commit()
        assert query(SERVER.uri("postgres"), "SELECT pg_has_role(%s, 'htx_loader', 'MEMBER')",
                     (name,)) == [(True,)]
    finally:
        first.close()
        second.close()
        Login._admin(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def _attempt(action, *args) -> Exception | None:
    try:
        action(*args)
    except Exception as err:  # the outcome the test reports
        return err
    return None


def test_the_local_stack_gives_the_dags_their_own_login(tmp_path):
    """What `make demo` and `make up` connect with when no warehouse is configured."""
    import subprocess
    import sys

    from conftest import ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_HTX_WAREHOUSE")}
    code = ("import json, os; from htx.dev import devenv; devenv.prepare();"
            "print(json.dumps([os.environ['AIRFLOW_CONN_HTX_WAREHOUSE'],"
            " os.environ['AIRFLOW_CONN_HTX_WAREHOUSE_OWNER']]))")
    done = subprocess.run([sys.executable, "-c", code], env={**env, "AIRFLOW_HOME": str(tmp_path)},
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    dags, owner = (urlsplit(uri) for uri in json.loads(done.stdout.splitlines()[-1]))
    assert (dags.username, owner.username) == (localpg.DAGS_LOGIN, localpg.SUPERUSER)
    assert dags.path == owner.path == "/htx_warehouse"


@pytest.mark.parametrize("statement", [
    "UPDATE core.ref_admin_unit SET name = name",
    "DELETE FROM core.ref_admin_crosswalk",
    "UPDATE core.ref_indicator SET unit = unit",
    "UPDATE mart.indicator_aggregation SET aggregation = 'sum'",
    "INSERT INTO audit.schema_migration VALUES ('9999_x', 'x')",
    "CREATE TABLE core.made_by_the_loader (x int)",
    "CREATE SCHEMA made_by_the_loader",
    "DROP TABLE core.registration_state",
    "ALTER TABLE mart.plan_indicator ADD COLUMN x int",
    "CREATE TABLE core_batch.made_by_the_loader (x int)",
    "ALTER TABLE core.tax_declaration DETACH PARTITION core_batch.tax_declaration_00000001",
    "CREATE TABLE core.tax_declaration_99 PARTITION OF core.tax_declaration FOR VALUES IN (99)",
    "SELECT core.tax_declaration_create_partition(99, 'made_by_the_loader')",
    "SELECT core.tax_declaration_create_partition(99, 'made_by_the_loader', false)",
    "ALTER TABLE staging.tax_declarations ADD COLUMN x int",
    "SELECT core.tax_declaration_open_partitions(1)",
    "SELECT core.tax_declaration_drop_open_partitions(1)",
    "SELECT core.tax_declaration_check_batch(1, ARRAY['staged'])",
])
def test_the_loader_cannot_change_reference_data_the_ledger_or_the_schema(province, statement):
    _, loader, _, _ = province
    assert refused(loader, statement)


def test_an_analyst_reads_the_marts_and_the_registry_with_id_numbers_masked(province):
    _, _, analyst, _ = province
    assert query(analyst, "SELECT count(*) > 0 FROM mart.plan_indicator") == [(True,)]
    assert query(analyst, "SELECT count(*) FROM core.registration_state") == [(3,)]
    rows = query(analyst, "SELECT * FROM core.registry_current_public")
    assert len(rows) == 3
    masked = {m for (m,) in query(analyst, "SELECT legal_rep_id_number_masked"
                                           " FROM core.registry_current_public")}
    assert masked == {"022*******34"}
    assert query(analyst, "SELECT name, members FROM core.registration_state LIMIT 1") == [
        ("Hợp tác xã Thử", 9)]


@pytest.mark.parametrize("statement", [
    "SELECT legal_rep_name FROM core.registration_state",
    "SELECT legal_rep_id_number FROM core.registration_state",
    "SELECT * FROM core.registration_state",
    "SELECT legal_rep_name FROM core.registry_current",
    "SELECT legal_rep_id_number FROM core.registry_current",
    "SELECT record FROM quarantine.registrations",
    "SELECT legal_rep_id_number FROM staging.registrations",
    "SELECT unexpected_sample FROM audit.validation_result",
])
def test_an_analyst_cannot_read_personal_data_anywhere(province, statement):
    _, _, analyst, _ = province
    assert refused(analyst, statement)


@pytest.mark.parametrize("statement", [
    "INSERT INTO mart.plan_indicator (indicator_code, period_start, period_end, value, unit)"
    " VALUES ('X', '2024-01-01', '2024-01-31', 1, 'count')",
    "UPDATE mart.plan_indicator SET value = 0",
    "DELETE FROM mart.plan_indicator",
    "TRUNCATE mart.plan_indicator",
    "UPDATE core.registration_state SET name = 'x'",
    "DELETE FROM core.tax_declaration",
    "INSERT INTO audit.load_batch (feed, batch_key, source_object) VALUES ('x', 'x', 'x')",
    "CREATE TABLE mart.made_by_an_analyst (x int)",
    "CREATE TABLE core.made_by_an_analyst (x int)",
    "CREATE TABLE public.made_by_an_analyst (x int)",
    "CREATE VIEW mart.made_by_an_analyst AS SELECT 1",
    "CREATE SCHEMA made_by_an_analyst",
    "CREATE TEMP TABLE made_by_an_analyst (x int)",
    "CREATE FUNCTION pg_temp.made_by_an_analyst() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "SELECT lo_create(0)",
    "SELECT lo_from_bytea(0, 'x')",
])
def test_an_analyst_can_write_nothing(province, statement):
    _, _, analyst, _ = province
    assert refused(analyst, statement)


def test_personal_columns_are_marked_and_none_is_granted_to_analysts(province):
    dsn, _, _, _ = province
    marked = {name for (name,) in query(dsn, "SELECT * FROM audit.personal_column_names()")}
    assert marked == PERSONAL
    granted = query(dsn, "SELECT table_schema, table_name, column_name"
                         " FROM information_schema.column_privileges"
                         " WHERE grantee = 'htx_analyst' AND privilege_type = 'SELECT'")
    assert granted and not {column for _, _, column in granted} & PERSONAL
    assert {schema for schema, _, _ in granted} == {"core", "mart"}


def test_every_core_relation_is_readable_by_analysts_without_its_personal_columns(province):
    dsn, _, _, _ = province
    relations = {name for (name,) in query(
        dsn, "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'core'::regnamespace"
             " AND c.relkind IN ('r', 'v', 'm', 'p')")}
    readable = {name for (name,) in query(
        dsn, "SELECT DISTINCT table_name FROM information_schema.column_privileges"
             " WHERE grantee = 'htx_analyst' AND table_schema = 'core'")}
    missing = sorted(relations - readable)
    assert missing == [], (f"core relation(s) {missing} are not readable by analysts: end the "
                           "migration that adds them with SELECT audit.grant_core_to_analysts();")


def test_the_masking_hides_all_but_the_first_three_and_last_two_characters(warehouse):
    masked = query(warehouse, "SELECT core.mask_id_number(x) FROM unnest(ARRAY[%s, %s, %s, %s])"
                              " WITH ORDINALITY AS t(x, n) ORDER BY n",
                   ("022090001234", "123456", "12345", None))
    assert masked == [("022*******34",), ("123*56",), ("*****",), (None,)]
    assert re.fullmatch(r"022\*{7}34", masked[0][0])


# --- the members' upkeep the refresh does as the table's owner (migrations 0120, 0150) -------

MEMBERS_FUNCTIONS = ("analyze_members_once", "summarize_new_members")


def test_the_members_upkeep_functions_run_as_their_owner_for_the_loader_alone(province):
    """The refresh (run by the loader login in this module's warehouse) summarizes the members'
    BRIN index and takes their statistics through these; nobody else may call them."""
    dsn, loader, analyst, _ = province
    found = query(dsn, "SELECT p.proname, p.prosecdef, p.proconfig, pg_get_userbyid(p.proowner)"
                       " FROM pg_proc AS p WHERE p.pronamespace = 'mart'::regnamespace"
                       " AND p.proname = ANY(%s) ORDER BY 1", (list(MEMBERS_FUNCTIONS),))
    assert [name for name, *_ in found] == list(MEMBERS_FUNCTIONS)
    owner = query(dsn, "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'mart'")
    for _, definer, config, function_owner in found:
        assert definer and config == ["search_path=pg_catalog, pg_temp"]
        assert [(function_owner,)] == owner
    assert query(dsn, "SELECT DISTINCT grantee FROM information_schema.routine_privileges"
                      " WHERE routine_schema = 'mart' AND routine_name = ANY(%s)"
                      " AND grantee <> pg_get_userbyid((SELECT nspowner FROM pg_namespace"
                      " WHERE nspname = 'mart'))", (list(MEMBERS_FUNCTIONS),)) == [("htx_loader",)]
    for function in MEMBERS_FUNCTIONS:
        assert refused(analyst, f"SELECT mart.{function}()")
    # The refresh took the members' statistics (of both tables storing them, migration 0190): a
    # second call finds them and leaves them.
    assert query(dsn, "SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = 'mart'"
                      " AND tablename IN ('plan_indicator_member_rows', 'registry_member_period')"
                      " ORDER BY 1") == [("plan_indicator_member_rows",),
                                         ("registry_member_period",)]
    assert query(loader, "SELECT mart.analyze_members_once()") == [(False,)]


# --- the partition DDL the loader may have done for it (migration 0070) --------------------

PARTITION_FUNCTIONS = ("tax_declaration_unstage_batch", "tax_declaration_open_shared_batch",
                       "tax_declaration_close_batch", "tax_declaration_attach_batch",
                       "tax_declaration_drop_batch")


def test_the_partition_functions_run_as_their_owner_with_a_fixed_search_path(province):
    dsn, _, _, _ = province
    found = query(dsn, "SELECT p.proname, p.prosecdef, p.proconfig, pg_get_userbyid(p.proowner)"
                       " FROM pg_proc AS p WHERE p.pronamespace = 'core'::regnamespace"
                       " AND p.proname = ANY(%s) ORDER BY 1", (list(PARTITION_FUNCTIONS),))
    assert sorted(name for name, *_ in found) == sorted(PARTITION_FUNCTIONS)
    owner = query(dsn, "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'core'")
    for _, definer, config, function_owner in found:
        assert definer and config == ["search_path=pg_catalog, pg_temp"]
        assert [(function_owner,)] == owner                    # the migration owner
    # Only the loader may call them; analysts and everyone else may not.
    assert query(dsn, "SELECT DISTINCT grantee FROM information_schema.routine_privileges"
                      " WHERE routine_schema = 'core' AND routine_name = ANY(%s)"
                      " AND grantee <> pg_get_userbyid((SELECT nspowner FROM pg_namespace"
                      " WHERE nspname = 'core'))", (list(PARTITION_FUNCTIONS),)) == [("htx_loader",)]


@pytest.mark.parametrize("function", PARTITION_FUNCTIONS)
def test_an_analyst_cannot_call_the_partition_functions(province, function):
    _, _, analyst, _ = province
    assert refused(analyst, f"SELECT core.{function}(1)")


@pytest.mark.parametrize("function", PARTITION_FUNCTIONS)
def test_the_partition_functions_act_on_tax_batches_only(province, function):
    """Another feed's batch (the registry's), a batch that does not exist, a negative id: refused
    before any DDL. Names cannot be passed at all: a batch id is the only argument."""
    dsn, loader, _, batches = province
    for batch in (*batches, 999_999_999, -1):
        assert refused(loader, f"SELECT core.{function}({batch})")
    with pytest.raises(psycopg2.errors.InvalidTextRepresentation):
        query(loader, f"SELECT core.{function}('1; DROP TABLE core.registration_state')")
    assert query(dsn, "SELECT count(*) FROM core.registration_state") == [(3,)]


def test_the_partition_functions_touch_their_own_tables_whatever_the_callers_search_path(province):
    """A loader session that puts look-alike tables first on its search path (its own temporary
    schema) changes nothing: every name the functions use is schema-qualified."""
    dsn, loader, _, _ = province
    (batch,) = query(loader, "INSERT INTO audit.load_batch (feed, batch_key, source_object)"
                             " VALUES ('tax_declarations', %s, 'tax/to_khai_202401.csv')"
                             " RETURNING batch_id", (uuid.uuid4().hex,))[0]
    staged = f"tax_declaration_{batch:08d}_staged"
    conn = psycopg2.connect(loader)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql.SQL("CREATE TEMP TABLE {} (x int); CREATE TEMP TABLE tax_declarations"
                                " (x int); SET search_path = pg_temp, core, staging").format(
                sql.Identifier(staged)))
            cur.execute("INSERT INTO audit.landed_object (batch_id, seq, object_url, sha256,"
                        " size_bytes) VALUES (%s, 1, 'file:///landed/to_khai_202401.csv', '0', 0)",
                        (batch,))
            parent = ("SELECT n.nspname FROM pg_inherits AS i JOIN pg_class AS c"
                      " ON c.oid = i.inhrelid JOIN pg_namespace AS n ON n.oid = c.relnamespace"
                      " WHERE i.inhparent = %s::regclass AND c.relname = %s")
            cur.execute("SELECT core.tax_declaration_open_shared_batch(%s)", (batch,))
            (opened,) = cur.fetchone()
            cur.execute("SELECT to_regclass(%s) IS NOT NULL", (f"core_batch.{opened}",))
            assert cur.fetchone() == (True,)
            cur.execute("SELECT core.tax_declaration_close_batch(%s)", (batch,))
            cur.execute(parent, ("staging.tax_declarations", staged))
            assert cur.fetchall() == [("core_batch",)]
            cur.execute("SELECT core.tax_declaration_drop_batch(%s)", (batch,))
            cur.execute(sql.SQL("SELECT count(*) FROM pg_temp.{}").format(sql.Identifier(staged)))
            assert cur.fetchone() == (0,)                      # its own table is still there
            cur.execute("SELECT to_regclass(%s)", (f"core_batch.{staged}",))
            assert cur.fetchone() == (None,)
    finally:
        conn.close()
