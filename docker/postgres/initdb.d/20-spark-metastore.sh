#!/bin/sh
# The Spark cluster's Hive metastore: a database and the role that owns it, named as
# docker/spark/conf/hive-site.xml says (lendflow/services/spark.py's COMPOSE_METASTORE_DB).
# The postgres image runs this once, on the first start with an empty volume; it is idempotent,
# so on a volume made before, run it once by hand:
#   docker compose exec postgres sh /docker-entrypoint-initdb.d/20-spark-metastore.sh
set -eu
: "${SPARK_METASTORE_PASSWORD:?set SPARK_METASTORE_PASSWORD in .env}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v password="$SPARK_METASTORE_PASSWORD" <<'SQL'
select format('%s role spark_metastore with login nosuperuser nocreatedb nocreaterole password %L',
              case when exists (select from pg_roles where rolname = 'spark_metastore') then 'alter' else 'create' end,
              :'password') \gexec
select 'create database spark_metastore owner spark_metastore'
 where not exists (select from pg_database where datname = 'spark_metastore') \gexec
revoke all on database spark_metastore from public;
SQL
