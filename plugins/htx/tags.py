"""The fixed vocabulary of DAG tags (checked for every DAG by tests/test_dag_validity.py)."""
from enum import Enum


class Tag(str, Enum):
    HTX = "htx"
    FEED = "feed"
    API = "api"
    FILE_DROP = "file_drop"
    MARTS = "marts"
    OPS = "ops"


VOCABULARY = frozenset(t.value for t in Tag)
