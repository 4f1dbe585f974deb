"""The operator-facing settings of the contracts README, resolved at run time (never at DAG parse).

| setting                           | read from                                               |
| --------------------------------- | ------------------------------------------------------- |
| connection `htx_warehouse`        | Airflow connections (env `AIRFLOW_CONN_HTX_WAREHOUSE`)  |
| connection `htx_registry_api`     | Airflow connections (env `AIRFLOW_CONN_HTX_REGISTRY_API`) |
| `HTX_LANDING_URL`                 | env, else Airflow variable `HTX_LANDING_URL`            |
| `HTX_LANDING_CONN_ID`             | env, else Airflow variable `HTX_LANDING_CONN_ID`; unset: |
|                                   | the URL's own `conn_id@`, else the store's default chain |
"""
from __future__ import annotations

import os
from dataclasses import dataclass

WAREHOUSE_CONN_ID = "htx_warehouse"
REGISTRY_API_CONN_ID = "htx_registry_api"
LANDING_URL_SETTING = "HTX_LANDING_URL"
# The Airflow connection holding an object store's credentials (e.g. an `aws` connection with
# login/password or a role, and `endpoint_url` for a non-AWS S3 API in its extra).
LANDING_CONN_SETTING = "HTX_LANDING_CONN_ID"
# Names of the environment variables that carry the settings above.
ENV_WAREHOUSE = "AIRFLOW_CONN_HTX_WAREHOUSE"
ENV_REGISTRY_API = "AIRFLOW_CONN_HTX_REGISTRY_API"
ENV_LANDING_URL = "HTX_LANDING_URL"


@dataclass(frozen=True)
class RegistryApi:
    base_url: str
    token: str


def _connection(conn_id: str):
    from airflow.sdk import Connection

    return Connection.get(conn_id)


def warehouse_dsn() -> str:
    """libpq connection string of the warehouse (psycopg2 is the project's one driver)."""
    from psycopg2.extensions import make_dsn

    conn = _connection(WAREHOUSE_CONN_ID)
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
    return RegistryApi(base_url=host, token=conn.password)


def landing_url() -> str:
    url = _env_or_variable(LANDING_URL_SETTING)
    if not url:
        raise ValueError(f"{LANDING_URL_SETTING} is not set (env or Airflow variable)")
    return url


def landing_conn_id() -> str | None:
    return _env_or_variable(LANDING_CONN_SETTING)


def _env_or_variable(name: str) -> str | None:
    if os.environ.get(name):
        return os.environ[name]
    from airflow.sdk import Variable

    return Variable.get(name, default=None) or None
