"""Running a DAG now, from a command (`demo`, `recover`): through Airflow's own scheduler when one
is running that DAG (a live stack: `make up`, docker-compose), else in this process (dag.test()).

Beside a live scheduler, an in-process run would be run twice — the scheduler examines every
running run of an unpaused DAG, dag.test()'s included — and the marts would be refreshed twice:
a feed's publish already queues them on its Asset. So a command triggers the run and waits for
it, and then waits for the marts run the publish's Asset event started instead of running its
own (`asset_triggered_run`).
"""
from __future__ import annotations

import time

from htx import db
from htx.errors import with_object
from htx.paths import DAGS_DIR

# Function-local imports: Airflow's internals load in seconds, and only the commands that run a
# DAG need them.

POLL_SECONDS = 2
WAIT_SECONDS = 3600


def run(dag_id: str):
    """One run of the DAG, to its end: through the scheduler when it runs the DAG, else here."""
    return _scheduled_run(dag_id) if scheduler_runs(dag_id) else _in_process(dag_id)


def run_dag(dag_id: str, must_succeed: bool = True):
    """Run one DAG to completion through Airflow: by the scheduler when one runs it, else here
    (`dag.test()`). A run that did not succeed raises, or (must_succeed=False: the demo's
    deliberately broken files) is reported."""
    finished = run(dag_id)
    report_run(finished, must_succeed)
    return finished


def report_run(run, must_succeed: bool = True) -> None:
    state = str(getattr(run.state, "value", run.state))
    print(f"DAG {run.dag_id}: {state}")
    if state != "success":
        if must_succeed:
            raise RuntimeError(f"DAG {run.dag_id} run {run.run_id} ended {state}")
        _print_rejections(run.dag_id, run.run_id)


def _print_rejections(dag_id: str, run_id: str) -> None:
    with db.transaction() as conn, conn.cursor() as cur:
        cur.execute("SELECT source_object, error FROM audit.load_batch WHERE dag_id = %s"
                    " AND run_id = %s AND status IN ('rejected', 'failed')", (dag_id, run_id))
        for source_object, error in cur.fetchall():
            print(f"  not loaded: {with_object(error or '', source_object)}")


def asset_triggered_run(dag_id: str, source_run):
    """The finished run of `dag_id` that `source_run`'s Asset events started, when the scheduler
    will run it; None when it will not (no live scheduler, the DAG paused, no event)."""
    if not (scheduler_runs(dag_id) and _published_assets(source_run)):
        return None
    return _wait(dag_id, _consuming(source_run))


def scheduler_runs(dag_id: str) -> bool:
    """A live scheduler (heartbeating) will run this DAG (known to it and unpaused)."""
    from airflow.jobs.job import most_recent_job
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        scheduler = most_recent_job("SchedulerJob", session=session)
        dag = session.get(DagModel, dag_id)
        return bool(scheduler and scheduler.is_alive() and dag is not None and not dag.is_paused)


def _in_process(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    return bag.dags[dag_id].test()


def _scheduled_run(dag_id: str):
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunTriggeredByType

    with create_session() as session:
        run_id = trigger_dag(dag_id, triggered_by=DagRunTriggeredByType.CLI,
                             triggering_user_name="htx", session=session).run_id
    print(f"DAG {dag_id}: run {run_id} triggered; the scheduler runs it …", flush=True)
    return _wait(dag_id, DagRun.run_id == run_id)


def _published_assets(run) -> bool:
    from sqlalchemy import func, select

    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        return bool(session.scalar(select(func.count()).select_from(AssetEvent).where(
            AssetEvent.source_dag_id == run.dag_id, AssetEvent.source_run_id == run.run_id)))


def _consuming(run):
    """The condition on DagRun: it consumed an Asset event of `run`."""
    from airflow.models.asset import AssetEvent
    from airflow.models.dagrun import DagRun

    return DagRun.consumed_asset_events.any(
        (AssetEvent.source_dag_id == run.dag_id) & (AssetEvent.source_run_id == run.run_id))


def _wait(dag_id: str, condition, timeout_s: float = WAIT_SECONDS):
    """The DagRun of `dag_id` matching `condition`, once it has finished (it may not exist yet:
    the scheduler creates an Asset-triggered run within seconds)."""
    from sqlalchemy import select

    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState

    deadline = time.monotonic() + timeout_s
    while True:
        with create_session() as session:
            run = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id, condition)
                                  .order_by(DagRun.id.desc()).limit(1)).first()
            if run is not None and run.state in (DagRunState.SUCCESS, DagRunState.FAILED):
                session.expunge(run)
                return run
        if time.monotonic() > deadline:
            raise TimeoutError(f"no finished run of {dag_id} after {timeout_s:.0f} s: is the"
                               f" scheduler still running? ({run.run_id if run else 'none yet'})")
        time.sleep(POLL_SECONDS)
