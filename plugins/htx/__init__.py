"""htx-data: the collective-economy (kinh tế tập thể) plan platform's importable logic.

Airflow puts `plugins/` on sys.path, so DAG files import `htx.*`. Keep this package light at
import time: heavy libraries (pandas, Great Expectations, psycopg2) are imported inside functions.
"""
