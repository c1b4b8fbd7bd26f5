#!/usr/bin/env bash
# Back up or restore a ragboard lake: its catalog (a PostgreSQL database) and its data path (a folder
# of Parquet files). The connection comes from the usual libpq variables (PGHOST, PGPORT, PGUSER,
# PGDATABASE; the password from PGPASSWORD or ~/.pgpass, never from the command line).
#
#   docs/lake-backup.sh backup  DATA_PATH BACKUP_FOLDER   # catalog.dump + data.tar.gz
#   docs/lake-backup.sh restore DATA_PATH BACKUP_FOLDER   # into an empty PGDATABASE and DATA_PATH
#
# The catalog is dumped first, then the data copied: a data file is never changed once written, so
# every file the dump names is still there, unless housekeeping deleted it meanwhile: do not run
# 'python -m pipelines housekeeping' during a backup. A data path on S3 is backed up with the object
# store's own versioning or replication instead (see docs/deploy.md).
set -euo pipefail
what=${1:?backup or restore}; data=${2:?the data path of the lake}; folder=${3:?a backup folder}
case "$what" in
  backup)
    mkdir -p "$folder"
    pg_dump --format=custom --no-owner --file="$folder/catalog.dump"
    tar -C "$data" -czf "$folder/data.tar.gz" .
    echo "Backed up the catalog of $PGDATABASE and $data to $folder."
    ;;
  restore)
    if [ -e "$data" ] && [ -n "$(ls -A "$data" 2>/dev/null)" ]; then
      echo "error: $data is not empty; restore into an empty data path." >&2; exit 1
    fi
    mkdir -p "$data"
    pg_restore --no-owner --exit-on-error --dbname="$PGDATABASE" "$folder/catalog.dump"
    tar -C "$data" -xzf "$folder/data.tar.gz"
    echo "Restored the catalog into $PGDATABASE and the data into $data."
    ;;
  *) echo "error: say backup or restore" >&2; exit 2 ;;
esac
