"""No secret in the repository: every file git tracks (or would add: untracked, not ignored) is
scanned for passwords, tokens, keys and connection strings carrying credentials.

Demo credentials are generated at set-up time (htx.dev.localpg keeps them under the ignored .local/);
`.env.example` and the docs hold placeholders only. A hit names the file, line and rule.
"""
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

RULES = {
    "URI with a password": re.compile(
        r"\b[a-z][a-z0-9+.-]*://(?P<user>[^\s/:@'\"`]+):(?P<value>[^\s/@'\"`]+)@"),
    "password assignment": re.compile(
        r"(?i)\b[a-z_]*(?:password|passwd|pwd|secret|token|api_?key)[a-z_]*\b['\"]?\s*[:=]\s*"
        r"['\"](?P<value>[^'\"\s]{4,})['\"]"),
    # .env / shell style: NAME=value on its own line (a Python expression is not a value).
    "env password": re.compile(
        r"(?m)^\s*(?:export\s+)?[A-Z_]*(?:PASSWORD|SECRET|TOKEN|API_KEY|FERNET_KEY)[A-Z_]*"
        r"\s*=\s*(?P<value>[^\s#(\[{'\"]+)\s*(?:#.*)?$"),
    "libpq password=": re.compile(
        r"(?i)\b(?:host|user|dbname|port)=\S+\s(?:[^'\"\n]*\s)?password=(?P<value>[^\s;'\"&]+)"),
    "AWS access key": re.compile(r"\b(?P<value>(?:AKIA|ASIA)[0-9A-Z]{16})\b"),
    "AWS secret key": re.compile(
        r"(?i)aws_?secret_?access_?key\s*[:=]\s*['\"]?(?P<value>[A-Za-z0-9/+=]{40})"),
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY"
                              r"(?P<value>)-----"),
    "bearer token": re.compile(r"\bBearer\s+(?P<value>[A-Za-z0-9._~+/-]{16,}=*)"),
    "GitHub or Slack token": re.compile(r"\b(?P<value>(?:gh[pousr]_[A-Za-z0-9]{30,}"
                                        r"|xox[abprs]-[A-Za-z0-9-]{10,}))"),
}
# What a value may be without being a secret: a placeholder, a reference, or code.
PLACEHOLDER = re.compile(
    r"""(?ix)^(?:change-?me|changeme|pass|password|secret|token|\*+|x+|\.\.\.|…|none|null
    |<[^>]*>?|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?.*|\{[^}]*\}.*|%\([a-z_]+\)s)$""")
# Test fixtures whose values are fake by construction: the value, and the one file it may be in.
FAKE_IN_TESTS = {
    ("tests/test_registry_client.py", "secret-token"),
    ("tests/test_registry_client.py", "wrong"),
    ("tests/test_faults_registry_api.py", "revoked-token"),
}


def repository_files() -> list[str]:
    done = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    return sorted({line for line in done.stdout.splitlines() if (ROOT / line).is_file()})


def findings(text: str, name: str = "<text>") -> list[str]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for rule, pattern in RULES.items():
            for match in pattern.finditer(line):
                value = match.group("value")
                if rule != "private key" and (PLACEHOLDER.match(value)
                                              or (name, value) in FAKE_IN_TESTS):
                    continue
                found.append(f"{name}:{number}: {rule}")
    return found


def test_no_tracked_file_holds_a_secret():
    problems = []
    for name in repository_files():
        try:
            text = (ROOT / name).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary (XLSX test files): no text secrets to find
        problems += findings(text, name)
    assert problems == []


def test_the_scan_sees_the_repository():
    files = repository_files()
    assert {".env.example", "docker-compose.yml", "plugins/htx/dev/localpg.py",
            "tests/test_no_secrets.py"} <= set(files)
    assert not any(name.startswith((".local/", ".venv/")) for name in files)


# Made up here, split so that this file itself holds no secret-shaped text.
AWS = "AKIA" + "Q3EXAMPLE7KEY2ZZ"


@pytest.mark.parametrize("leak, rule", [
    ("AIRFLOW_CONN_HTX_WAREHOUSE=postgresql://htx:" + "s3cr3t-Pa55@db:5432/htx", "URI with a password"),
    ('password = "' + 'hunter2hunter2"', "password assignment"),
    ('{"password": "' + 'q8ZnP0sd1"}', "password assignment"),
    ("HTX_WAREHOUSE_PASSWORD=" + "q8ZnP0sd1x", "env password"),
    ("host=db user=htx password=" + "q8ZnP0sd1 dbname=x", "libpq password="),
    ("aws_access_key_id = " + AWS, "AWS access key"),
    ("-----BEGIN RSA " + "PRIVATE KEY-----", "private key"),
    ("Authorization: Bearer " + "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc", "bearer token"),
    ("token: ghp_" + "A" * 36, "GitHub or Slack token"),
])
def test_the_scan_finds_each_kind_of_secret(leak, rule):
    assert any(hit.endswith(rule) for hit in findings(leak)), findings(leak)


@pytest.mark.parametrize("placeholder", [
    "AIRFLOW_DB_PASSWORD=change-me",
    "postgresql://user:pass@host:5432/db",
    'return f"{driver}://{self.user}:{self.password}@{self.host}:{self.port}/{database}"',
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: postgresql+psycopg2://airflow:${AIRFLOW_DB_PASSWORD}@postgres/airflow",
    'session.headers["Authorization"] = f"Bearer {api.token}"',
])
def test_placeholders_and_code_are_not_secrets(placeholder):
    assert findings(placeholder) == []
