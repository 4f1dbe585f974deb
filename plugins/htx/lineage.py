"""OpenLineage: what every task reads and writes, from the feeds' configuration.

Each task of the project's DAGs is made by a `lineage_tasks(...)` decorator instead of `@task`: the
same Python task, whose operator tells the Airflow OpenLineage provider its inputs and outputs.
Which datasets those are follows from the feed's configuration (`htx.feeds.config.Feed`: its
source, landing, staging, quarantine and core tables) and the marts' inputs (every feed's core
table) — never written per DAG. At parse time they are logical (`Dataset`, no I/O); the worker
names them when the provider asks, at the task's start and end, from the settings:

| dataset                  | OpenLineage namespace                          | name                          |
| ------------------------ | ---------------------------------------------- | ----------------------------- |
| the registry API         | its base URL's `scheme://host:port` (no token) | `/api/v1/entities`            |
| a file drop, landed copies | `file`, or `s3://<bucket>` (`HTX_LANDING_URL`) | `<root>/tax/to_khai_*.csv`, `<root>/_landed/<feed>` |
| a warehouse table        | `postgres://<host>:<port>` (`htx_warehouse`)   | `<database>.<schema>.<table>` |
| exports, Data Docs       | `file`                                         | the folder                    |

With no OpenLineage transport configured the provider is off and none of this runs. When it runs,
a dataset that cannot be named is left out with a warning; nothing here ever fails a task.
"""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from functools import partial
from typing import Callable
from urllib.parse import urlsplit

from airflow.providers.standard.decorators.python import _PythonDecoratedOperator
from airflow.providers.standard.decorators.short_circuit import _ShortCircuitDecoratedOperator
from airflow.sdk.bases.decorator import task_decorator_factory

from htx.feeds.config import FEEDS, Feed
from htx.settings import landing_url, warehouse_dsn

# Function-local imports: this module is imported while DAG files are parsed; what only naming a
# dataset needs (the OpenLineage provider, psycopg2, the landing zone, the exports and Data Docs
# modules) is imported when the provider asks, on the worker.
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dataset:
    kind: str   # "api" (key: feed), "drop" (a glob under the landing root), "landed" (feed),
    key: str    # "table" (schema.table), "folder" (exports / data_docs)


@dataclass(frozen=True)
class TaskLineage:
    inputs: tuple[Dataset, ...] = ()
    outputs: tuple[Dataset, ...] = ()


def _table(name: str) -> Dataset:
    return Dataset("table", name)


def feed_step(feed: Feed, task_id: str) -> TaskLineage:
    """What each task of a feed's DAG reads and writes."""
    source = (Dataset("api", feed.name) if feed.source.kind == "api"
              else Dataset("drop", feed.source.glob))
    landed = Dataset("landed", feed.name)
    staging, quarantine, core = map(_table, (feed.staging_table, feed.quarantine_table,
                                             feed.core_table))
    return {
        "extract_to_landing": TaskLineage((source,), (landed,)),
        "validate_and_stage": TaskLineage((landed,), (staging, quarantine)),
        "merge_into_core": TaskLineage((staging,), (core,)),
        "publish": TaskLineage((core,)),
        "build_data_docs": DATA_DOCS,
    }[task_id]


MARTS = tuple(map(_table, ("mart.plan_indicator", "mart.plan_indicator_members")))
DATA_DOCS = TaskLineage(
    (_table("audit.validation_result"), *(_table(f.quarantine_table) for f in FEEDS.values())),
    (Dataset("folder", "data_docs"),))
STEPS = {
    "needs_refresh": TaskLineage((_table("audit.load_batch"), _table("mart.refresh_log"))),
    "refresh_marts": TaskLineage(tuple(_table(f.core_table) for f in FEEDS.values()), MARTS),
    "write_exports": TaskLineage(MARTS, (Dataset("folder", "exports"),)),
    "check_freshness": TaskLineage((_table("audit.load_batch"), _table("mart.refresh_log"))),
    "build_data_docs": DATA_DOCS,
}


class LineageTaskOperator(_PythonDecoratedOperator):
    """A `@task` operator that reports its TaskLineage to OpenLineage (on start, on completion
    and on failure alike: the provider falls back to the start's lineage)."""

    def __init__(self, *, htx_lineage: TaskLineage, **kwargs):
        super().__init__(**kwargs)
        self.htx_lineage = htx_lineage

    def get_openlineage_facets_on_start(self):
        from airflow.providers.openlineage.extractors.base import OperatorLineage

        return OperatorLineage(inputs=named(self.htx_lineage.inputs),
                               outputs=named(self.htx_lineage.outputs))


class LineageShortCircuitOperator(LineageTaskOperator, _ShortCircuitDecoratedOperator):
    """A `@task.short_circuit` operator (a false result skips what follows) that reports its
    TaskLineage to OpenLineage."""


def lineage_tasks(lineage_for: Callable[[str], TaskLineage]):
    """A decorator used like `@task` (bare or with arguments; `short_circuit=True` for
    `@task.short_circuit`) whose task `t` reports `lineage_for(t's task id)`."""
    def decorate(python_callable=None, *, short_circuit: bool = False, **task_kwargs):
        operator = LineageShortCircuitOperator if short_circuit else LineageTaskOperator

        def make(function):
            lineage = lineage_for(task_kwargs.get("task_id", function.__name__))
            return task_decorator_factory(function, decorated_operator_class=operator,
                                          htx_lineage=lineage, **task_kwargs)
        return make(python_callable) if python_callable else make
    return decorate


def feed_tasks(feed: Feed):
    return lineage_tasks(partial(feed_step, feed))


step_tasks = lineage_tasks(STEPS.__getitem__)


# --- run time: logical datasets named from the settings ----------------------------------

def named(datasets: tuple[Dataset, ...]) -> list:
    """OpenLineage datasets; one that cannot be named now is left out (logged)."""
    from airflow.providers.common.compat.openlineage.facet import Dataset as OpenLineageDataset

    found = []
    for dataset in datasets:
        try:
            found.append(OpenLineageDataset(*_NAMERS[dataset.kind](dataset.key)))
        except Exception as err:  # noqa: BLE001 — lineage must never fail a task
            log.warning("lineage: %s %s not named: %s: %s", dataset.kind, dataset.key,
                        type(err).__name__, err)
    return found


def _api(feed_name: str) -> tuple[str, str]:
    client = importlib.import_module(FEEDS[feed_name].source.client)
    return client.lineage_name(client.configured())


def _in_landing(relative: str) -> tuple[str, str]:
    from htx.landing import as_url

    root = urlsplit(as_url(landing_url()))
    path = f"{root.path.rstrip('/')}/{relative}"
    if root.scheme == "file":
        return "file", path
    return f"{root.scheme}://{root.hostname}", path.lstrip("/")


def _table_name(name: str) -> tuple[str, str]:
    from psycopg2.extensions import parse_dsn

    dsn = parse_dsn(warehouse_dsn())
    return (f"postgres://{dsn.get('host') or 'localhost'}:{dsn.get('port') or 5432}",
            f"{dsn.get('dbname')}.{name}")


def _folder(setting: str) -> tuple[str, str]:
    if setting == "exports":
        from htx.exports import export_dir as folder
    else:
        from htx.ops.data_docs import docs_dir as folder
    return "file", str(folder())


_NAMERS = {"api": _api, "drop": _in_landing,
           "landed": lambda feed_name: _in_landing(f"_landed/{feed_name}"),
           "table": _table_name, "folder": _folder}
