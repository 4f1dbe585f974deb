# Airflow image for htx-data: the official image, extended with the project's Python packages
# (the "extending the image" way of https://airflow.apache.org/docs/docker-stack/build.html).
# docker-compose.yml builds it once (`docker compose build`) for every Airflow service.
FROM apache/airflow:3.3.2-python3.11

# pip must run as the airflow user, never as root (the official image refuses root pip installs).
USER airflow

# requirements.txt: the project's direct pins; constraints.txt: the full resolved set (pip freeze),
# so the image gets the same versions the tests ran with.
COPY --chown=airflow:root requirements.txt constraints.txt /opt/airflow/

# AIRFLOW_VERSION is set by the base image; naming apache-airflow in the install stops pip from
# upgrading or downgrading Airflow itself while resolving the project's packages.
RUN pip install --no-cache-dir \
        "apache-airflow==${AIRFLOW_VERSION}" \
        -r /opt/airflow/requirements.txt \
        -c /opt/airflow/constraints.txt

# The compose stack relies on the Celery executor and the FAB auth manager (providers shipped in
# the official image), and an S3 landing zone on the Amazon provider with s3fs (requirements.txt):
# fail the build here rather than at `docker compose up`.
RUN python -c "import airflow.providers.celery, airflow.providers.fab, airflow.providers.amazon, s3fs"
