#!/usr/bin/env bash
# One-shot job before the Airflow components start: the metadata schema, the dbt
# manifests the DAGs render from, and the one login, taken from .env. Airflow's simple
# auth manager would otherwise make up a user `admin` and print its password to the log;
# here nothing defaults.
set -euo pipefail
: "${AIRFLOW_ADMIN_USER:?set AIRFLOW_ADMIN_USER in .env}"
: "${AIRFLOW_ADMIN_PASSWORD:?set AIRFLOW_ADMIN_PASSWORD in .env}"
passwords="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:?}"
mkdir -p "$(dirname "$passwords")" "$AIRFLOW_HOME/logs"
umask 077
python - "$passwords" <<'PY'
import json
import os
import sys

with open(sys.argv[1], "w") as handle:
    json.dump({os.environ["AIRFLOW_ADMIN_USER"]: os.environ["AIRFLOW_ADMIN_PASSWORD"]}, handle)
PY
airflow db migrate
# The DAGs render from compiled manifests (orchestration/config.py): one per dbt target.
lendflow compile-manifest --target postgres
lendflow compile-manifest --target spark
