#!/bin/sh
# Airflow's metadata database and its owner. The postgres image runs this once, on the
# first start with an empty volume; the warehouse's own roles are set up by the
# `warehouse-init` service instead, on every `docker compose up` (idempotent).
set -eu
: "${AIRFLOW_DB_PASSWORD:?set AIRFLOW_DB_PASSWORD in .env}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v airflow_password="$AIRFLOW_DB_PASSWORD" <<'SQL'
select format('create role airflow with login password %L', :'airflow_password') \gexec
create database airflow owner airflow;
revoke all on database airflow from public;
SQL
