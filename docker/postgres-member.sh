#!/bin/sh
# The PostgreSQL member of a raftquake run (harness/systems/postgres.py), under node-ctl.
#   postgres-member template   (image build) make the template cluster and its table
#   postgres-member run        start the server on /data/node/pgdata (copied from the
#                              template on the first start; after a kill, PostgreSQL's own
#                              crash recovery replays its WAL), as the postgres user, in
#                              this process (exec), so node-ctl's pid is the postmaster's
set -eu
BIN=/usr/lib/postgresql/15/bin
TEMPLATE=/var/lib/raftquake/pgdata
DATA=/data/node/pgdata
LOGS=/data/node/log
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
# libfaketime (node-ctl preloads it) is given back only to the server, once it runs as
# postgres: preloaded into a root process it makes its shared semaphore as root, which
# the server, as postgres, then cannot open, and libfaketime exits the process.
PRELOAD=${LD_PRELOAD:-}
unset LD_PRELOAD FAKETIME_SHARED

case "${1:-}" in
template)
    mkdir -p "$(dirname "$TEMPLATE")" /run/postgresql
    chown postgres:postgres "$(dirname "$TEMPLATE")" /run/postgresql
    as_postgres "$BIN/initdb" -D "$TEMPLATE" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    # Clients from the harness (the run's bridge network) without a password: a test box.
    echo "host all all 0.0.0.0/0 trust" >> "$TEMPLATE/pg_hba.conf"
    cat >> "$TEMPLATE/postgresql.conf" <<CONF
listen_addresses = '*'
max_connections = 300
# Durable commits, as shipped: a kill must not lose an acknowledged transaction.
fsync = on
synchronous_commit = on
# The server's own log, kept in nodes/<id>/postgresql.log (one file, appended across
# restarts); the console keeps what it prints before the collector starts.
logging_collector = on
log_directory = '$LOGS'
log_filename = 'postgresql.log'
log_rotation_age = 0
log_rotation_size = 0
log_line_prefix = '%m [%p] %q%u@%d '
CONF
    as_postgres "$BIN/pg_ctl" -D "$TEMPLATE" -o "-c listen_addresses='' -c logging_collector=off" -w start >/dev/null
    as_postgres "$BIN/psql" -q -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE TABLE kv (k text PRIMARY KEY, kind char(1) NOT NULL, v text NOT NULL)"
    as_postgres "$BIN/pg_ctl" -D "$TEMPLATE" -w stop >/dev/null
    ;;
run)
    mkdir -p "$LOGS" && chown postgres:postgres "$LOGS" /data/node
    if [ ! -f "$DATA/PG_VERSION" ]; then
        # Copied aside and renamed, so a kill during the copy leaves no half a cluster.
        rm -rf "$DATA.tmp" && cp -a "$TEMPLATE" "$DATA.tmp" && mv "$DATA.tmp" "$DATA"
    fi
    exec setpriv --reuid=postgres --regid=postgres --init-groups \
        env LD_PRELOAD="$PRELOAD" "$BIN/postgres" -D "$DATA"
    ;;
*)
    echo "usage: postgres-member template | run" >&2
    exit 2
    ;;
esac
