#!/bin/sh
# pgAdmin with the warehouse pre-registered as the read-only lendflow_reader.
# In server mode pgAdmin resolves a server's passfile inside the login's storage folder
# (/var/lib/pgadmin/storage/<email with @ as _>), so the reader's password goes there,
# from the environment, and never into the image or the repository. Without it pgAdmin
# simply asks for the password.
set -eu
: "${PGADMIN_DEFAULT_EMAIL:?}" "${WAREHOUSE_READER_PASSWORD:?}"
storage="/var/lib/pgadmin/storage/$(printf '%s' "$PGADMIN_DEFAULT_EMAIL" | sed 's/@/_/g')"
mkdir -p "$storage"
umask 077
printf 'postgres:5432:*:lendflow_reader:%s\n' "$WAREHOUSE_READER_PASSWORD" > "$storage/.pgpass"
exec /entrypoint.sh "$@"
