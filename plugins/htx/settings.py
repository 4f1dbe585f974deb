"""The operator-facing settings of the contracts README, resolved at run time (never at DAG parse).

| setting                           | read from                                               |
| --------------------------------- | ------------------------------------------------------- |
| connection `htx_warehouse`        | Airflow connections (env `AIRFLOW_CONN_HTX_WAREHOUSE`)  |
| connection `htx_warehouse_owner`  | Airflow connections (env `AIRFLOW_CONN_HTX_WAREHOUSE_OWNER`); migrations only, default `htx_warehouse` |
| connection `htx_registry_api`     | Airflow connections (env `AIRFLOW_CONN_HTX_REGISTRY_API`) |
| `HTX_LANDING_URL`                 | env, else Airflow variable `HTX_LANDING_URL`            |
| `HTX_LANDING_CONN_ID`             | env, else Airflow variable `HTX_LANDING_CONN_ID`; unset: |
|                                   | the URL's own `conn_id@`, else the store's default chain |

The DAGs log in with `htx_warehouse` (their own login, member of `htx_loader`, never a superuser);
migrations run with `htx_warehouse_owner`, the schema's owner, which also gives the DAGs' login
its group (htx.migrate). Every secret read here is remembered for redaction (htx.redaction).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from psycopg2.extensions import make_dsn

from htx.redaction import remember

# Function-local imports: Airflow (seconds to import) only when a setting may be an Airflow
# connection or variable; the CLI reads settings without it.

WAREHOUSE_CONN_ID = "htx_warehouse"
WAREHOUSE_OWNER_CONN_ID = "htx_warehouse_owner"
REGISTRY_API_CONN_ID = "htx_registry_api"
LANDING_URL_SETTING = "HTX_LANDING_URL"
# The Airflow connection holding an object store's credentials (e.g. an `aws` connection with
# login/password or a role, and `endpoint_url` for a non-AWS S3 API in its extra).
LANDING_CONN_SETTING = "HTX_LANDING_CONN_ID"
# Names of the environment variables that carry the settings above.
ENV_WAREHOUSE = "AIRFLOW_CONN_HTX_WAREHOUSE"
ENV_WAREHOUSE_OWNER = "AIRFLOW_CONN_HTX_WAREHOUSE_OWNER"
ENV_REGISTRY_API = "AIRFLOW_CONN_HTX_REGISTRY_API"
ENV_LANDING_URL = "HTX_LANDING_URL"


@dataclass(frozen=True)
class RegistryApi:
    base_url: str
    token: str


def _connection(conn_id: str):
    from airflow.sdk import Connection

    conn = Connection.get(conn_id)
    remember(conn.password)
    return conn


def warehouse_dsn() -> str:
    """libpq connection string of the warehouse as the DAGs log in to it (psycopg2 is the
    project's one driver)."""
    return _dsn(_connection(WAREHOUSE_CONN_ID))


def warehouse_owner_dsn() -> str:
    """The schema owner's connection string, for migrations: `htx_warehouse_owner` when it is
    configured, else `htx_warehouse` (a warehouse whose one login owns it)."""
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return _dsn(_connection(WAREHOUSE_OWNER_CONN_ID))
    except AirflowNotFoundException:
        return warehouse_dsn()


def dags_login() -> tuple[str, str] | None:
    """(login, password) of the DAGs' connection when it is not the owner's: the login that
    migrations make a member of the loader group."""
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        owner = _connection(WAREHOUSE_OWNER_CONN_ID)
    except AirflowNotFoundException:
        return None
    dags = _connection(WAREHOUSE_CONN_ID)
    if not dags.login or dags.login == owner.login:
        return None
    return dags.login, dags.password or ""


def _dsn(conn) -> str:
    extra = {k: v for k, v in (conn.extra_dejson or {}).items() if k in _LIBPQ_OPTIONS}
    return make_dsn(
        host=conn.host or None, port=conn.port or None, user=conn.login or None,
        password=conn.password or None, dbname=conn.schema or None,
        application_name="htx-data", **extra,
    )


_LIBPQ_OPTIONS = {"sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "options"}


def registry_api() -> RegistryApi:
    conn = _connection(REGISTRY_API_CONN_ID)
    host = (conn.host or "").rstrip("/")
    if "://" not in host:  # URI-style connection: http://host:port → host without scheme
        scheme = conn.schema or "https"
        host = f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")
    if not conn.password:
        raise ValueError(f"connection {REGISTRY_API_CONN_ID!r} has no password (the bearer token)")
    if _NOT_A_TOKEN.search(conn.password):
        # requests would refuse the header and quote it, token included, in its error.
        raise ValueError(f"connection {REGISTRY_API_CONN_ID!r}: its password (the bearer token)"
                         " holds whitespace or a control character (a trailing newline?); set"
                         " the token alone")
    return RegistryApi(base_url=host, token=conn.password)


# What an HTTP header value may not carry (RFC 9110 field values; a token has no spaces either).
_NOT_A_TOKEN = re.compile(r"[\s\x00-\x1f\x7f]")


def landing_url() -> str:
    url = _env_or_variable(LANDING_URL_SETTING)
    if not url:
        raise ValueError(f"{LANDING_URL_SETTING} is not set (env or Airflow variable)")
    return url


def landing_conn_id() -> str | None:
    """The object store's connection id; the connection's password (a secret key), when it
    exists, is remembered for redaction."""
    from airflow.sdk.exceptions import AirflowNotFoundException

    conn_id = _env_or_variable(LANDING_CONN_SETTING)
    if conn_id:
        try:
            _connection(conn_id)
        except AirflowNotFoundException:
            pass
    return conn_id


def _env_or_variable(name: str) -> str | None:
    if os.environ.get(name):
        return os.environ[name]
    from airflow.sdk import Variable

    return Variable.get(name, default=None) or None
