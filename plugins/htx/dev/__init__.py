"""Development only: the sample generator, the local PostgreSQL server, the registry API's
stand-in and the local environment the project's commands (`make demo`, `make up`, `make test`)
set up. Nothing the DAGs, the pipeline or the marts run imports this package."""
