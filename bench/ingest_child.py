"""One feed's full ingest, as the feed DAG's four tasks run it, timed step by step.

Run by bench/national.py in a child process, so that the peak RSS it reports is the ingest's
own: `python bench/ingest_child.py <feed> <result.json>` with the warehouse, landing zone (and
registry API) configured in the environment. Writes to result.json (stdout carries the task
logs): the seconds of each step, the publish summary, and the process's peak RSS (ru_maxrss,
children included) — or, for a run a step ended with an exception (a refused pull), the error
and the peak RSS, exiting 1.
"""
from __future__ import annotations

import json
import resource
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))


def ingest(feed: str) -> dict:
    # What an Airflow worker has imported before it runs any task (seconds of start-up that no
    # task of a running deployment pays) is imported before the clock starts.
    import airflow.sdk  # noqa: F401

    from htx import pipeline

    run = pipeline.RunInfo("bench", uuid.uuid4().hex)
    steps: dict[str, float] = {}

    def timed(step: str, call, *args):
        start = time.perf_counter()
        result = call(*args)
        steps[step] = time.perf_counter() - start
        return result

    batches = timed("extract + land", pipeline.extract_to_landing, feed, run)
    staged = timed("validate + stage", pipeline.stage_batches, feed, batches)
    timed("merge", pipeline.merge_batches, feed, batches)
    summary = timed("publish", pipeline.publish_batches, feed, batches)
    return {"steps": steps, "seconds": sum(steps.values()), "rejected": staged["rejected"],
            "published": summary["published"]}


def peak_rss_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss        # KiB on Linux
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


if __name__ == "__main__":
    try:
        result = ingest(sys.argv[1])
    except Exception as err:   # measured all the same
        result = {"error": f"{type(err).__name__}: {err}"}
    result["peak_rss_mib"] = peak_rss_mib()
    Path(sys.argv[2]).write_text(json.dumps(result))
    sys.exit(1 if "error" in result else 0)
