"""Airflow DAG: operations — daily freshness of every feed and the marts, and the Data Docs
(see htx.ops.dags)."""
from htx.ops.dags import build_freshness_dag

htx_ops_freshness = build_freshness_dag()
