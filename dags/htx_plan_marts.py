"""Airflow DAG: the plan's indicator marts, refreshed whenever a feed publishes its core Asset."""
from htx.dag_factory import build_marts_dag

htx_plan_marts = build_marts_dag()
