"""No secret in the repository: a scan of every file git would commit.

Files scanned: tracked ones plus untracked ones that are not ignored (`git ls-files
--cached --others --exclude-standard`), so generated state (.lendflow/, .venv/, a real
.env) is never read, and a new file is scanned before anyone adds it.

What counts as a secret literal: a private key block, an AWS access key id, a password
inside a URL (scheme://user:password@host), and a password/secret/token-named key assigned
a literal value. Not a secret: a reference to the environment (${VAR}, $VAR,
{{ env_var('X') }}), an empty value, a variable's name, a boolean, a path, and in
Python only quoted literals count (`password=settings.pg_password` is code, not a value).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from lendflow.settings import REPO_ROOT

# Not inside a reference: the key in ${LENDFLOW_PG_PASSWORD:?...} is a variable being read.
SECRET_KEY = r"(?<![\w${.-])[\w.-]*(?:password|passwd|pwd|secret|token|api_?key|private_?key)[\w.-]*"
QUOTED = re.compile(SECRET_KEY + r"""['"]?\s*[:=]\s*(?P<q>['"])(?P<value>[^'"\n]+)(?P=q)""", re.I)
UNQUOTED = re.compile(SECRET_KEY + r"""['"]?[ \t]*[:=][ \t]*(?P<value>[^\s'"#,=][^\s'"#,]*)""", re.I)
URL_PASSWORD = re.compile(r"""\b[a-z][a-z0-9+.-]*://[^\s:/@'"]+:(?P<value>[^\s@/'"]+)@(?P<host>[\w.-]*)""", re.I)
# Hosts reserved for documentation and tests (RFC 2606): no real server has these.
EXAMPLE_HOST = re.compile(r"(^|\.)(example(\.(com|org|net))?|test|invalid)$", re.I)
ALWAYS = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS access key id": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
}
# Documentation's stand-ins, as in `postgresql://user:pass@host/db`.
PLACEHOLDERS = {"pass", "password", "secret", "***", "...", "changeme", "change-me", "xxx"}
NOT_VALUES = {"true", "false", "yes", "no", "null", "none", "required", "optional"}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind}"


def is_literal(value: str) -> bool:
    """True when value looks like a secret written down, not a reference or a name."""
    value = value.strip()
    if not value or value.lower() in PLACEHOLDERS or value.lower() in NOT_VALUES:
        return False
    if not re.search(r"[A-Za-z0-9]", value):  # punctuation: code around a literal, not the literal
        return False
    if value[0] in "${%<*(" or value.startswith(("/", "./", "~/")):
        return False
    return not re.fullmatch(r"[A-Z][A-Z0-9_]*", value)  # an environment variable's name


# A test's own made-up credential, marked where it stands (detect-secrets' marker), so the scan
# stays strict everywhere else and each exception is visible in review.
ALLOWED = "pragma: allowlist secret"


def scan_text(text: str, path: str = "<text>") -> list[Finding]:
    code = path.endswith(".py")
    findings = []
    for number, line in enumerate(text.splitlines(), start=1):
        if ALLOWED in line:
            continue
        for kind, pattern in ALWAYS.items():
            if pattern.search(line):
                findings.append(Finding(path, number, kind))
        urls = [m for m in URL_PASSWORD.finditer(line) if not EXAMPLE_HOST.search(m["host"])]
        if any(is_literal(m["value"]) for m in urls):
            findings.append(Finding(path, number, "password in a URL"))
        assigned = list(QUOTED.finditer(line)) + ([] if code else list(UNQUOTED.finditer(line)))
        if any(is_literal(m["value"]) for m in assigned):
            findings.append(Finding(path, number, "secret-named key with a literal value"))
    return findings


def files_git_would_commit(root: Path) -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [root / name for name in sorted(set(listed.split("\0"))) if name and (root / name).is_file()]


def scan_repository(root: Path) -> list[Finding]:
    findings = []
    for path in files_git_would_commit(root):
        if path.name.endswith(".min.js"):
            continue  # a vendored, minified third-party bundle (plotly.js): its key names are code
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
        findings += scan_text(text, str(path.relative_to(root)))
    return findings


# --- the repository ---------------------------------------------------------------------
def test_the_repository_holds_no_secret_literal() -> None:
    findings = scan_repository(REPO_ROOT)
    assert not findings, "secrets written into the repository:\n" + "\n".join(map(str, findings))


def test_generated_state_is_not_scanned_but_the_example_env_is() -> None:
    scanned = {str(path.relative_to(REPO_ROOT)) for path in files_git_would_commit(REPO_ROOT)}
    assert not [name for name in scanned if name.startswith((".lendflow/", ".venv/"))]
    assert ".env" not in scanned
    assert {".env.example", "docker-compose.yml", "profiles/profiles.yml"} <= scanned


# --- the scan can fail ------------------------------------------------------------------------
def _planted(key: str) -> str:
    # Built at run time, so this file itself holds no literal for the scan to find.
    return key + ' = "' + "hunter" + "2-" + "planted" + '"'


def test_a_planted_password_is_caught_in_new_files_but_not_in_ignored_ones(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("state/\n.env\n")
    (tmp_path / "settings.py").write_text("import os\n\n" + _planted("db_password") + "\n")
    (tmp_path / "config.yml").write_text("warehouse:\n  password: " + "t0p" + "s3cret\n")
    (tmp_path / "tracked.ini").write_text("url = postgresql://bob:" + "Sup3r" + "S3cret@db:5432/x\n")
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "secrets.py").write_text(_planted("password") + "\n")
    (tmp_path / ".env").write_text("LENDFLOW_PG_PASSWORD=" + "real" + "value\n")
    subprocess.run(["git", "add", "tracked.ini"], cwd=tmp_path, check=True)

    found = {(finding.path, finding.line) for finding in scan_repository(tmp_path)}

    assert found == {("settings.py", 3), ("config.yml", 2), ("tracked.ini", 1)}


@pytest.mark.parametrize(
    "line",
    [
        "POSTGRES_PASSWORD: ${LENDFLOW_PG_PASSWORD:?set it in .env}",
        "      password: \"{{ env_var('DBT_PG_PASSWORD') }}\"",
        "LENDFLOW_PG_PASSWORD=",
        "LENDFLOW_PG_DSN=postgresql://user:pass@host:5432/db",
        "postgresql://u:p%40ss@db.example:5433/wh",
        "dsn = f'postgresql://{user}:{quote(password)}@{host}'",
        'PGADMIN_CONFIG_MASTER_PASSWORD_REQUIRED: "True"',
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE: /opt/airflow/auth/passwords.json",
        'PASSWORD_VARIABLE = "LENDFLOW_PG_PASSWORD"',
        "secretstorage==3.3.3",
    ],
)
def test_references_and_names_are_not_secrets(line: str) -> None:
    assert scan_text(line, "example.yml") == []


@pytest.mark.parametrize(
    "line",
    [
        'password = "' + "hunter" + '2"',
        "AIRFLOW_ADMIN_PASSWORD=" + "adm" + "in",
        '"Password": "' + "s3" + 'cret!"',
        "AIRFLOW__API_AUTH__JWT_SECRET: " + "abc" + "123",
        "postgresql://lendflow:" + "Xy7" + "pq@localhost/lendflow",
        "-----BEGIN RSA " + "PRIVATE KEY-----",
    ],
)
def test_literals_are_secrets(line: str) -> None:
    assert scan_text(line, "example.yml")


def test_a_marked_test_credential_is_allowed_and_the_same_line_unmarked_is_not() -> None:
    line = 'dsn = "postgresql://owner:' + "hun" + 'ter2@127.0.0.1:5432/wh"'
    assert scan_text(line, "test_example.py")
    assert scan_text(line + "  # " + ALLOWED, "test_example.py") == []
