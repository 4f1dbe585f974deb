"""Structure of docker-compose.yml, its Dockerfile and .env.example.

No Docker engine runs where the tests run, so these checks parse the files: the compose file must
keep the shape of the official Airflow 3 docker-compose.yaml (CeleryExecutor stack, shared
`x-airflow-common` anchor, healthchecks, `airflow-init` first), carry every setting the DAGs read,
and hold no secret of its own.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
SETTINGS_FILE = ROOT / "plugins" / "htx" / "settings.py"

AIRFLOW_IMAGE = "apache/airflow:3.3.2-python3.11"
INFRA_SERVICES = {"postgres", "warehouse", "redis"}
# Long-running Airflow components: each must wait for airflow-init.
AIRFLOW_COMPONENTS = {
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
}
REQUIRED_SERVICES = INFRA_SERVICES | AIRFLOW_COMPONENTS | {"airflow-init"}
HEALTHCHECKED = {"postgres", "warehouse", "redis", "airflow-apiserver", "airflow-scheduler"}
DAG_SETTINGS = {"AIRFLOW_CONN_HTX_WAREHOUSE", "AIRFLOW_CONN_HTX_REGISTRY_API", "HTX_LANDING_URL"}
SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN", "FERNET")

# `$$` is an escaped dollar (left to the container's shell); `${NAME...}` and `$NAME` are
# interpolated by docker compose.
_DOLLAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)|\$([A-Za-z_][A-Za-z0-9_]*)")
# A whole value that is one interpolation: ${NAME}, ${NAME:-default}, ${NAME:?message}, ...
_INTERPOLATION = re.compile(r"^\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}$")
# user:password@ in a URI (the password may be an interpolation holding spaces).
_URI_CREDENTIAL = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*://(?P<user>[^:/@\s]*):(?P<password>\$\{[^}]*\}|[^@\s/]*)@"
)


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def common(compose) -> dict:
    return compose["x-airflow-common"]


@pytest.fixture(scope="module")
def common_env(common) -> dict:
    return common["environment"]


def _airflow_services(services: dict) -> dict:
    """Every service built from the x-airflow-common anchor (airflow-*, flower)."""
    return {name: svc for name, svc in services.items() if name.startswith("airflow-") or name == "flower"}


def _strings(node):
    """Every string in a parsed YAML document, mapping keys included (comments are gone)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _pairs(node, key=""):
    """(key, string value) for every string in the document, under the nearest mapping key."""
    if isinstance(node, str):
        yield key, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _pairs(v, str(k))
    elif isinstance(node, list):
        for item in node:
            yield from _pairs(item, key)


def _interpolated_names(text: str) -> set[str]:
    names = set()
    for match in _DOLLAR.finditer(text):
        if match.group(0) != "$$":
            names.add(match.group(1) or match.group(2))
    return names


def _is_secret_reference(value: str) -> bool:
    """True for `${NAME}`, `${NAME:?msg}`, `${NAME?msg}`, and `${NAME:-}` (empty default)."""
    match = _INTERPOLATION.match(value)
    if not match:
        return False
    op, arg = match.group("op"), match.group("arg")
    if op is None or "?" in op:
        return True
    return "-" in op and arg == ""  # a `:-default` or `:+alt` holding a value is a literal secret


def _env_example() -> dict[str, str]:
    entries = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f".env.example: not NAME=value: {line!r}"
        entries[name.strip()] = value.strip()
    return entries


def _published_ports(service: dict) -> list[str]:
    out = []
    for port in service.get("ports", []):
        if isinstance(port, dict):  # long syntax
            out.append(f"{port.get('host_ip', '')}:{port.get('published', '')}:{port['target']}")
        else:
            out.append(str(port))
    return out


# ---------------------------------------------------------------- services and shape


def test_required_services_exist(services):
    missing = REQUIRED_SERVICES - set(services)
    assert not missing, f"services missing from docker-compose.yml: {sorted(missing)}"


def test_airflow_services_share_the_common_anchor(services, common, common_env):
    assert common.get("build") in (".", {"context": "."}), "x-airflow-common must build from ./Dockerfile"
    assert DOCKERFILE.is_file()
    assert common_env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    airflow = _airflow_services(services)
    assert AIRFLOW_COMPONENTS | {"airflow-init"} <= set(airflow)
    for name, svc in airflow.items():
        assert svc.get("build") == common["build"], name
        assert svc.get("image") == common.get("image"), name
        assert svc.get("volumes") == common["volumes"], name
        env = svc["environment"]
        for key, value in common_env.items():
            assert env.get(key) == value, f"{name}: {key} differs from x-airflow-common"
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name


def test_component_commands(services):
    assert services["airflow-apiserver"]["command"] == "api-server"  # Airflow 3: no `webserver`
    assert services["airflow-scheduler"]["command"] == "scheduler"
    assert services["airflow-dag-processor"]["command"] == "dag-processor"
    assert services["airflow-worker"]["command"] == "celery worker"
    assert services["airflow-triggerer"]["command"] == "triggerer"
    assert services["airflow-worker"]["environment"]["DUMB_INIT_SETSID"] == "0"


def test_apiserver_is_published_on_localhost_only(services):
    assert _published_ports(services["airflow-apiserver"]) == ["127.0.0.1:8080:8080"]


def test_no_port_is_published_beyond_localhost(services):
    for name, svc in services.items():
        for port in _published_ports(svc):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port!r} on every interface"


def test_project_folders_are_mounted(common):
    volumes = set(common["volumes"])
    for folder in ("dags", "plugins", "include", "landing", "logs", "config"):
        assert f"./{folder}:/opt/airflow/{folder}" in volumes, folder


def test_airflow_init_runs_first(services):
    for name in AIRFLOW_COMPONENTS | ({"flower"} & set(services)):
        depends = services[name]["depends_on"]
        assert depends.get("airflow-init") == {"condition": "service_completed_successfully"}, name
        for infra in INFRA_SERVICES:
            assert depends.get(infra) == {"condition": "service_healthy"}, f"{name} -> {infra}"
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"] == {"condition": "service_healthy"}


def test_airflow_init_migrates_and_creates_the_admin(services):
    init = services["airflow-init"]
    env = init["environment"]
    assert env["_AIRFLOW_DB_MIGRATE"] == "true"
    assert env["_AIRFLOW_WWW_USER_CREATE"] == "true"
    assert _is_secret_reference(env["_AIRFLOW_WWW_USER_PASSWORD"])
    assert init["user"] == "0:0"
    script = "\n".join(init["command"])
    assert "/entrypoint airflow version" in script  # the entrypoint runs the migration
    assert "landing" in script and "include" in script
    assert "python -m htx migrate" in script  # the warehouse is migrated before any DAG runs


def test_healthchecks(services):
    for name in HEALTHCHECKED:
        check = services[name].get("healthcheck")
        assert check and check.get("test"), f"{name} has no healthcheck"
    for name in INFRA_SERVICES:
        assert services[name].get("restart") == "always", name


def test_databases(services):
    metadata, warehouse = services["postgres"], services["warehouse"]
    assert warehouse["image"] == "postgres:16"
    assert warehouse["environment"]["POSTGRES_DB"] == "htx_warehouse"
    # Separate servers, separate storage.
    assert metadata["volumes"] != warehouse["volumes"]
    assert "-d" in warehouse["healthcheck"]["test"] and "htx_warehouse" in warehouse["healthcheck"]["test"]


# ---------------------------------------------------------------- environment


def test_airflow_settings(common_env):
    assert common_env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
    assert common_env["AIRFLOW__CORE__DEFAULT_TIMEZONE"] == "Asia/Ho_Chi_Minh"
    assert common_env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert common_env["AIRFLOW__CORE__AUTH_MANAGER"] == (
        "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
    )
    assert _is_secret_reference(common_env["AIRFLOW__API_AUTH__JWT_SECRET"])
    assert common_env["PYTHONPATH"] == "/opt/airflow/plugins"
    assert common_env["HTX_LANDING_URL"] == "${HTX_LANDING_URL:-file:///opt/airflow/landing}"


def test_metadata_database_and_celery_urls(common_env, services):
    sql = urlsplit(common_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert sql.scheme == "postgresql+psycopg2" and sql.hostname == "postgres"
    pg_env = services["postgres"]["environment"]
    assert sql.username == pg_env["POSTGRES_USER"] and sql.path == f"/{pg_env['POSTGRES_DB']}"
    assert _interpolated_names(sql.password) == _interpolated_names(pg_env["POSTGRES_PASSWORD"])
    backend = urlsplit(common_env["AIRFLOW__CELERY__RESULT_BACKEND"])
    assert backend.scheme == "db+postgresql" and backend.hostname == "postgres"
    broker = urlsplit(common_env["AIRFLOW__CELERY__BROKER_URL"])
    assert broker.scheme == "redis" and broker.hostname == "redis"


def test_dag_settings_are_named(common_env):
    missing = DAG_SETTINGS - set(common_env)
    assert not missing, f"x-airflow-common environment lacks {sorted(missing)}"


def test_the_dags_log_in_as_their_own_login_and_only_the_init_as_the_owner(common_env,
                                                                          services):
    """The image's POSTGRES_USER is a superuser: the DAGs never log in as it. Their connection is
    their own login (which `python -m htx migrate` makes a member of htx_loader); the owner's
    connection, for the migrations, is airflow-init's alone."""
    uri = urlsplit(common_env["AIRFLOW_CONN_HTX_WAREHOUSE"])
    wh_env = services["warehouse"]["environment"]
    assert uri.scheme in ("postgresql", "postgres")
    assert (uri.hostname, uri.port) == ("warehouse", 5432)
    assert uri.username == "htx_dags" != wh_env["POSTGRES_USER"]
    assert uri.path == f"/{wh_env['POSTGRES_DB']}" == "/htx_warehouse"
    assert _interpolated_names(uri.password) == {"HTX_WAREHOUSE_DAGS_PASSWORD"}
    assert _interpolated_names(wh_env["POSTGRES_PASSWORD"]) == {"HTX_WAREHOUSE_PASSWORD"}
    owner = urlsplit(services["airflow-init"]["environment"]["AIRFLOW_CONN_HTX_WAREHOUSE_OWNER"])
    assert (owner.hostname, owner.port, owner.path) == ("warehouse", 5432, "/htx_warehouse")
    assert owner.username == wh_env["POSTGRES_USER"]
    assert _interpolated_names(owner.password) == {"HTX_WAREHOUSE_PASSWORD"}
    holders = {name for name, svc in services.items()
               if any("HTX_WAREHOUSE_PASSWORD" in _interpolated_names(v)
                      for v in _strings(svc.get("environment", {})))}
    assert holders == {"warehouse", "airflow-init"}
    assert "HTX_WAREHOUSE_PASSWORD" not in {n for v in _strings(common_env)
                                            for n in _interpolated_names(v)}


def test_registry_connection_is_json_with_url_host_and_token(common_env):
    conn = json.loads(common_env["AIRFLOW_CONN_HTX_REGISTRY_API"])
    assert conn["conn_type"] == "http"
    assert _interpolated_names(conn["host"]) == {"HTX_REGISTRY_URL"}
    assert _interpolated_names(conn["password"]) == {"HTX_REGISTRY_TOKEN"}
    assert _is_secret_reference(conn["password"])


# ---------------------------------------------------------------- secrets


def test_no_literal_secret_values(compose):
    for key, value in _pairs(compose):
        if any(word in key.upper() for word in SECRET_WORDS):
            assert _is_secret_reference(value), f"{key} holds a literal value: {value!r}"


def test_no_literal_credentials_in_uris(compose):
    for _, value in _pairs(compose):
        for match in _URI_CREDENTIAL.finditer(value):
            password = match.group("password")
            assert password == "" or _is_secret_reference(password), f"literal credential in {value!r}"


def test_no_literal_secrets_in_json_values(compose):
    for key, value in _pairs(compose):
        if not value.lstrip().startswith("{"):
            continue
        try:
            doc = json.loads(value)
        except json.JSONDecodeError:
            continue
        for field, field_value in doc.items():
            if isinstance(field_value, str) and any(w in field.upper() for w in SECRET_WORDS):
                assert _is_secret_reference(field_value), f"{key}.{field} holds a literal value"


def test_every_interpolated_variable_is_in_env_example(compose):
    used = set()
    for text in _strings(compose):
        used |= _interpolated_names(text)
    listed = set(_env_example())
    assert used - listed == set(), f"missing from .env.example: {sorted(used - listed)}"
    assert listed - used == set(), f".env.example lists variables the compose file never reads: {sorted(listed - used)}"


def test_env_example_holds_placeholders_only():
    for name, value in _env_example().items():
        if any(word in name.upper() for word in SECRET_WORDS):
            assert value == "change-me", f".env.example: {name} must be the placeholder change-me"


# ---------------------------------------------------------------- the DAGs' own settings


# The warehouse owner's connection is for migrations only: airflow-init holds it, no other.
MIGRATIONS_ONLY = {"AIRFLOW_CONN_HTX_WAREHOUSE_OWNER"}


def test_settings_module_names_are_in_the_environment(common_env, services):
    """Env-var names the project's settings module reads must reach every Airflow container
    (the owner's connection: airflow-init alone)."""
    if not SETTINGS_FILE.is_file():
        pytest.skip("plugins/htx/settings.py does not exist yet")
    found = set(re.findall(r"\bAIRFLOW_CONN_[A-Z_]+|\bHTX_[A-Z_]+URL\b", SETTINGS_FILE.read_text(encoding="utf-8")))
    names = {name for name in found if re.fullmatch(r"(AIRFLOW_CONN_|HTX_)[A-Z_]+", name)}
    if not names:
        pytest.skip("plugins/htx/settings.py names no AIRFLOW_CONN_*/HTX_*URL variable")
    missing = names - MIGRATIONS_ONLY - set(common_env)
    assert not missing, f"settings.py reads {sorted(missing)}, not set in x-airflow-common"
    assert MIGRATIONS_ONLY <= names and not MIGRATIONS_ONLY & set(common_env)
    assert MIGRATIONS_ONLY <= set(services["airflow-init"]["environment"])


def test_connection_ids_used_in_code_are_configured(common_env):
    pattern = re.compile(
        r"(?:conn_id\s*=\s*|get_connection\(\s*|Connection\.get\(\s*)[\"'](htx_[a-z0-9_]+)[\"']",
        re.IGNORECASE,
    )
    conn_ids = set()
    for folder in ("dags", "plugins"):
        for source in sorted((ROOT / folder).rglob("*.py")) if (ROOT / folder).is_dir() else []:
            conn_ids |= set(pattern.findall(source.read_text(encoding="utf-8", errors="replace")))
    if not conn_ids:
        pytest.skip("no htx_* connection id in dags/ or plugins/ yet")
    missing = {f"AIRFLOW_CONN_{cid.upper()}" for cid in conn_ids} - MIGRATIONS_ONLY - set(common_env)
    assert not missing, f"connections used in code but not configured: {sorted(missing)}"


# ---------------------------------------------------------------- Dockerfile


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    return out


def test_dockerfile_extends_the_official_image():
    instructions = _dockerfile_instructions()
    assert instructions[0] == ("FROM", AIRFLOW_IMAGE)
    copies = " ".join(arg for word, arg in instructions if word in ("COPY", "ADD"))
    assert "requirements.txt" in copies and "constraints.txt" in copies
    user = None
    pip_runs = []
    for word, arg in instructions:
        if word == "USER":
            user = arg
        elif word == "RUN" and "pip install" in arg:
            pip_runs.append((user, arg))
    assert pip_runs, "Dockerfile installs nothing with pip"
    for user, arg in pip_runs:
        assert user == "airflow", "pip must run as the airflow user"
        assert "--no-cache-dir" in arg
        assert re.search(r"-r \S*requirements\.txt", arg) and re.search(r"-c \S*constraints\.txt", arg)


def test_dockerfile_airflow_matches_requirements():
    requirements = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    pin = re.search(r"^apache-airflow==([\w.]+)\s*$", requirements, re.MULTILINE)
    if not pin:
        pytest.skip("requirements.txt does not pin apache-airflow")
    assert AIRFLOW_IMAGE.split(":")[1].startswith(pin.group(1) + "-")
