#!/bin/sh
# The MariaDB member of a raftquake run (harness/systems/mariadb.py, galera.py), under
# node-ctl.
#   mariadb-member template        (image build) make the template data directory
#   mariadb-member run [--found-cluster | --bootstrap] [ARGS...]
#                                  start mariadbd on /data/node/mysql (copied from the
#                                  template on the first start), as the mysql user, in this
#                                  process (exec: node-ctl's pid is the server's); ARGS go
#                                  to mariadbd (Galera's options)
#   mariadb-member position ARGS... (Galera, the member stopped) print its recovered
#                                  position, uuid:seqno, and grastate.dat's seqno and
#                                  safe_to_bootstrap, on one line
# Galera (galera.py passes --wsrep-on=ON): on the first start of the member that founds
# the cluster (--found-cluster) it adds --wsrep-new-cluster; on every later start the
# member first recovers its position from InnoDB (mariadbd --wsrep-recover, as Galera's
# own galera_recovery and mysqld_safe do) and starts from it, so a cluster killed whole
# comes back by Galera's own recovery (pc.recovery: the primary component saved in
# gvwstate.dat is restored once all its members are back), its data never wiped. When
# pc.recovery cannot restore it (the members saved different primary components, or one
# saved none), galera_recovery.py does what Galera's documentation tells an operator to
# do: it asks every member its position, then starts the most advanced with --bootstrap
# (safe_to_bootstrap: 1 in grastate.dat, then --wsrep-new-cluster), and the others after.
set -eu
TEMPLATE=/var/lib/raftquake/mysql
DATA=/data/node/mysql
# libfaketime (node-ctl preloads it) is given back only to the server, as mysql: preloaded
# into a root process it makes its shared semaphore as root, which a process running as
# mysql (the server, a state transfer's scripts) then cannot open, and libfaketime exits.
PRELOAD=${LD_PRELOAD:-}
unset LD_PRELOAD FAKETIME_SHARED
as_mysql() { setpriv --reuid=mysql --regid=mysql --init-groups "$@"; }

# The member's position (uuid:seqno) as InnoDB recovers it, the server stopped (mariadbd
# --wsrep-recover, as Galera's galera_recovery does); empty when it says none. ARGS: the
# member's mariadbd options.
recover_position() {
    rm -f /data/node/wsrep-recover.log
    as_mysql mariadbd --datadir="$DATA" "$@" --wsrep-recover \
        --log-error=/data/node/wsrep-recover.log >/dev/null 2>&1 || true
    sed -n 's/.*WSREP: Recovered position: *\([^ ]*\).*/\1/p' \
        /data/node/wsrep-recover.log | tail -n 1
}

case "${1:-}" in
template)
    mkdir -p "$(dirname "$TEMPLATE")" /run/mysqld && chown mysql:mysql /run/mysqld
    mariadb-install-db --user=mysql --datadir="$TEMPLATE" --skip-test-db \
        --auth-root-authentication-method=socket >/dev/null
    as_mysql mariadbd --datadir="$TEMPLATE" --skip-networking --wsrep-on=OFF \
        --log-error=/tmp/template.err &
    i=0
    until mariadb -u root -e "SELECT 1" >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 300 ] || { cat /tmp/template.err; exit 1; }; sleep 0.1
    done
    mariadb -u root <<'SQL'
CREATE DATABASE raftquake;
-- One row per key: kind 'l' a list (appends; v holds its elements, one JSON value a
-- line), 'r' a register (v its JSON value). Binary keys: exact comparison, no collation.
CREATE TABLE raftquake.kv (k VARBINARY(255) PRIMARY KEY, kind CHAR(1) NOT NULL,
                           v LONGTEXT NOT NULL) ENGINE=InnoDB;
CREATE USER 'raftquake'@'%';
GRANT ALL PRIVILEGES ON raftquake.* TO 'raftquake'@'%';
SQL
    mariadb-admin -u root shutdown
    wait
    rm -f /tmp/template.err
    ;;
position)
    shift
    [ -d "$DATA/mysql" ] || { echo "position none grastate none safe_to_bootstrap none"; exit 0; }
    pos=$(recover_position "$@")
    state=$DATA/grastate.dat
    seqno=$(sed -n 's/^seqno: *//p' "$state" 2>/dev/null || true)
    safe=$(sed -n 's/^safe_to_bootstrap: *//p' "$state" 2>/dev/null || true)
    echo "position ${pos:-none} grastate ${seqno:-none} safe_to_bootstrap ${safe:-none}"
    ;;
run)
    shift
    found=0
    bootstrap=0
    if [ "${1:-}" = --found-cluster ]; then found=1; shift; fi
    if [ "${1:-}" = --bootstrap ]; then bootstrap=1; shift; fi
    mkdir -p /data/node /run/mysqld && chown mysql:mysql /data/node /run/mysqld
    first=0
    if [ ! -d "$DATA/mysql" ]; then
        # Copied aside and renamed, so a kill during the copy leaves no half a directory.
        rm -rf "$DATA.tmp" && cp -a "$TEMPLATE" "$DATA.tmp" && mv "$DATA.tmp" "$DATA"
        first=1
    fi
    case " $* " in
    *" --wsrep-on=ON "*)
        if [ "$first" = 1 ] && [ "$found" = 1 ]; then
            set -- "$@" --wsrep-new-cluster
        elif [ "$first" = 0 ]; then
            pos=$(recover_position "$@")
            echo "mariadb-member: recovered position ${pos:-none}"
            if [ -n "$pos" ]; then set -- "$@" --wsrep-start-position="$pos"; fi
            if [ "$bootstrap" = 1 ]; then
                # Galera's documented bootstrap of a cluster that lost its primary
                # component: this member is the most advanced (galera_recovery.py chose it).
                sed -i 's/^safe_to_bootstrap: *0/safe_to_bootstrap: 1/' "$DATA/grastate.dat"
                echo "mariadb-member: bootstrapping a new primary component from this" \
                    "member (safe_to_bootstrap: 1, --wsrep-new-cluster)"
                set -- "$@" --wsrep-new-cluster
            fi
        fi
        ;;
    esac
    exec setpriv --reuid=mysql --regid=mysql --init-groups \
        env LD_PRELOAD="$PRELOAD" mariadbd --datadir="$DATA" "$@"
    ;;
*)
    echo "usage: mariadb-member template | run [--found-cluster | --bootstrap] [MARIADBD-ARGS...]" \
        "| position MARIADBD-ARGS..." >&2
    exit 2
    ;;
esac
