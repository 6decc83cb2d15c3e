#!/bin/sh
# One member of a Redis deployment with Sentinel (harness/systems/redis.py): a redis-server,
# and beside it a redis-sentinel, as Sentinel's documentation deploys them (one Sentinel
# on each of the three boxes).
#
#   redis-member --me IP --primary IP --quorum Q --down-after-ms MS --failover-timeout-ms MS
#                --appendfsync everysec|always --min-replicas-to-write N
#
# On the first start it writes both configuration files into the member's data directory
# (the volume): Debian's /etc/redis/redis.conf included, then what a deployment changes
# (listen on the network, no daemon, append-only file, the primary to replicate). Later
# starts (after a kill) keep them as they are: Sentinel rewrites them as it reconfigures
# the deployment, and a restarted server must come back with what Sentinel last told it,
# as it would on a real box.
#
# The Sentinel is started once and left running: node-ctl's kill and pause act on the
# process this script becomes (redis-server), as a crash or a stall of the data server
# would, while the Sentinel, a separate daemon, stays up. Partitions cut both (they are
# iptables rules on the box).
set -eu

DIR=/data/node
SENTINEL_PID=/run/raftquake/sentinel.pid
me="" primary="" quorum="" down_after="" failover_timeout="" appendfsync="" min_replicas=""
while [ $# -gt 0 ]; do
    case "$1" in
    --me) me=$2 ;;
    --primary) primary=$2 ;;
    --quorum) quorum=$2 ;;
    --down-after-ms) down_after=$2 ;;
    --failover-timeout-ms) failover_timeout=$2 ;;
    --appendfsync) appendfsync=$2 ;;
    --min-replicas-to-write) min_replicas=$2 ;;
    *) echo "redis-member: unknown argument $1" >&2; exit 2 ;;
    esac
    shift 2
done
if [ -z "$me" ] || [ -z "$primary" ] || [ -z "$quorum" ] || [ -z "$down_after" ] \
    || [ -z "$failover_timeout" ] || [ -z "$appendfsync" ] || [ -z "$min_replicas" ]; then
    echo "redis-member: every argument is needed (see the head of this script)" >&2
    exit 2
fi
mkdir -p "$DIR"

if [ ! -f "$DIR/redis.conf" ]; then
    {
        echo "include /etc/redis/redis.conf"
        echo "# raftquake: a networked member in the foreground, durable by its append-only file"
        echo "daemonize no"
        echo "supervised no"
        echo "pidfile /run/raftquake/redis.pid"
        echo "logfile \"\""
        echo "bind 0.0.0.0"
        echo "protected-mode no"
        echo "dir $DIR"
        echo "appendonly yes"
        echo "appendfsync $appendfsync"
        echo "min-replicas-to-write $min_replicas"
        if [ "$me" != "$primary" ]; then echo "replicaof $primary 6379"; fi
    } > "$DIR/redis.conf.tmp"
    mv "$DIR/redis.conf.tmp" "$DIR/redis.conf"
fi

if [ ! -f "$DIR/sentinel.conf" ]; then
    # Sentinel's documented settings (its "quick tutorial" pairs down-after 5000 with
    # failover-timeout 60000); it appends what it learns (replicas, other Sentinels, epochs).
    cat > "$DIR/sentinel.conf.tmp" <<EOF
port 26379
bind 0.0.0.0
protected-mode no
daemonize no
dir $DIR
logfile $DIR/sentinel.log
sentinel resolve-hostnames no
sentinel announce-ip $me
sentinel monitor mymaster $primary 6379 $quorum
sentinel down-after-milliseconds mymaster $down_after
sentinel failover-timeout mymaster $failover_timeout
sentinel parallel-syncs mymaster 1
EOF
    mv "$DIR/sentinel.conf.tmp" "$DIR/sentinel.conf"
fi

sentinel_alive() {
    [ -f "$SENTINEL_PID" ] && kill -0 "$(cat "$SENTINEL_PID")" 2>/dev/null
}
if ! sentinel_alive; then
    redis-sentinel "$DIR/sentinel.conf" >> "$DIR/sentinel.out" 2>&1 < /dev/null &
    echo $! > "$SENTINEL_PID"
fi

exec redis-server "$DIR/redis.conf"
