"""The worker's name as Airflow records it on each task instance (`hostname`), for
tests/test_topology.py: its two Celery workers share one machine, so the machine's name would
not tell them apart. Set per worker as `[core] hostname_callable` (AIRFLOW__CORE__HOSTNAME_CALLABLE
=topology_worker.hostname) with HTX_TEST_WORKER_NAME in that worker's environment."""
import os


def hostname() -> str:
    return os.environ["HTX_TEST_WORKER_NAME"]
