#!/usr/bin/env bash
# One-shot job before the Thrift server starts (apache/spark image, as the user spark):
#  1. the PostgreSQL JDBC driver, fetched once into the shared volume and checked against its
#     SHA-256, where spark-defaults.conf puts it on the drivers' classpath;
#  2. Hive's metastore schema in the stack's PostgreSQL, created in one go by DataNucleus's
#     SchemaTool from Hive's own mapping (package.jdo, inside the hive-metastore jar), as
#     lendflow/services/spark_cluster.py does for the local cluster: Hive's lazy
#     `datanucleus.schema.autoCreateAll` deadlocks on PostgreSQL. Tables that exist are kept,
#     so the job runs on every `docker compose up`.
# Its inputs are rendered from lendflow/services/spark.py (lendflow/services/spark_compose.py).
set -euo pipefail
: "${SPARK_METASTORE_PASSWORD:?set SPARK_METASTORE_PASSWORD in .env}"
here="$(dirname "$0")"
# shellcheck source=/dev/null
. "$here/jdbc-driver.env"

if ! echo "$JDBC_DRIVER_SHA256  $JDBC_DRIVER_JAR" | sha256sum --check --status 2>/dev/null; then
    mkdir -p "$(dirname "$JDBC_DRIVER_JAR")"
    wget -nv -O "$JDBC_DRIVER_JAR.part" "$JDBC_DRIVER_URL"
    echo "$JDBC_DRIVER_SHA256  $JDBC_DRIVER_JAR.part" | sha256sum --check --quiet
    mv "$JDBC_DRIVER_JAR.part" "$JDBC_DRIVER_JAR"
fi

# The postgres image's health check (on its socket) can pass while its first-start scripts still
# run on a server without TCP: wait until the metastore's host takes connections.
address="$(sed -n 's|^datanucleus.ConnectionURL=jdbc:postgresql://\([^/]*\)/.*|\1|p' "$here/schema-tool.properties")"
for _ in $(seq 60); do
    (exec 3<>"/dev/tcp/${address%:*}/${address#*:}") 2>/dev/null && break
    sleep 2
done

# SchemaTool reads its connection from a file: the committed one plus the password, readable
# by this job only, and gone when it ends.
umask 077
props="$(mktemp)"
trap 'rm -f "$props"' EXIT
cat "$here/schema-tool.properties" >"$props"
printf 'datanucleus.ConnectionPassword=%s\n' "$SPARK_METASTORE_PASSWORD" >>"$props"
java -cp "$SPARK_HOME/jars/*:$JDBC_DRIVER_JAR" org.datanucleus.store.schema.SchemaTool \
    -create -api JDO -props "$props" package.jdo
