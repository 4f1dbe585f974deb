"""Operations: see, be told about and recover from every failed or late load (docs/runbook.md).

  notify      the alert channels (Airflow connections htx_alert_smtp, htx_alert_webhook)
  failures    what a failed run left in audit.load_batch, as an alert; audit.failed_loads
  freshness   each feed's delivery deadline, late feeds, stale marts
  checks      the daily check: late feeds, quarantine spikes, stale marts, as one alert
  health      the per-feed summary of `python -m htx health`
  reprocess   quarantine listing, revalidation after a suite change, replay from landing
  data_docs   Great Expectations Data Docs from the kept validation results
  data_docs_site  how those pages render: escaped, parse rules shown, offline assets
  dags        the htx_ops_freshness DAG
  commands    the `python -m htx` commands of all the above

Kept light: the DAG files import `htx.ops.dags` at parse time; everything else is imported
where it runs.
"""
