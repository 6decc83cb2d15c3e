#!/bin/sh
# One member of a ZooKeeper ensemble (harness/systems/zookeeper.py), run as Debian's init
# script runs it (/etc/zookeeper/conf/environment: its java, class path and main class),
# in the foreground so that node-ctl's kill and pause reach the JVM itself.
#
#   zk-member --id N --servers "1=IP,2=IP,3=IP"
#
# On the first start it writes the member's zoo.cfg into its data directory (the volume):
# Debian's packaged /etc/zookeeper/conf/zoo.cfg (its tickTime, initLimit and syncLimit),
# with the ensemble's servers, the data directory here, and the four-letter words the
# harness's status probe asks (srvr); and the myid file. Later starts (after a kill) keep
# them, and the data.
set -eu

DIR=/data/node
id="" servers=""
while [ $# -gt 0 ]; do
    case "$1" in
    --id) id=$2 ;;
    --servers) servers=$2 ;;
    *) echo "zk-member: unknown argument $1" >&2; exit 2 ;;
    esac
    shift 2
done
if [ -z "$id" ] || [ -z "$servers" ]; then
    echo "zk-member: --id and --servers are needed" >&2
    exit 2
fi
mkdir -p "$DIR/data"

if [ ! -f "$DIR/zoo.cfg" ]; then
    {
        grep -v -E '^[[:space:]]*(dataDir|dataLogDir)[[:space:]]*=' /etc/zookeeper/conf/zoo.cfg
        echo "# raftquake: this member's data, the ensemble, the status probe's four-letter words"
        echo "dataDir=$DIR/data"
        echo "4lw.commands.whitelist=srvr,mntr,conf,ruok"
        echo "admin.enableServer=false"
        echo "$servers" | tr ',' '\n' | while IFS='=' read -r n ip; do
            echo "server.$n=$ip:2888:3888"
        done
    } > "$DIR/zoo.cfg.tmp"
    mv "$DIR/zoo.cfg.tmp" "$DIR/zoo.cfg"
    echo "$id" > "$DIR/data/myid"
fi

. /etc/zookeeper/conf/environment
# ZooKeeper 3.8 logs through SLF4J, and Debian's class path (conf and zookeeper.jar) holds
# no SLF4J binding: the server would log nothing at all ("Defaulting to no-operation (NOP)
# logger"). Debian's own slf4j-log4j12 binding and log4j 1.2 (libslf4j-java,
# liblog4j1.2-java, both installed with zookeeper) make it log as its log4j.properties says;
# CONSOLE: to the member's output (node-ctl appends it to its node.log), where the harness
# reads the LEADING/FOLLOWING lines (harness/systems/zookeeper_log.py).
CLASSPATH="$CLASSPATH:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar"
exec $JAVA -cp "$CLASSPATH" $JAVA_OPTS \
    -Dzookeeper.log.dir="$DIR" -Dzookeeper.root.logger=INFO,CONSOLE \
    "$ZOOMAIN" "$DIR/zoo.cfg"
