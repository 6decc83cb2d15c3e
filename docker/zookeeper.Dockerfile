# ZooKeeper 3.8 from Debian 12's zookeeperd (and the OpenJDK 17 it depends on), as a system
# under test (harness/systems/zookeeper.py). Installed here, on the shared base, when the
# image is built: the base stays the same for every system.
ARG BASE=python:3.11-slim
FROM ${BASE}
ARG BASE

LABEL raftquake.image=zookeeper raftquake.base=${BASE}
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
# An idle box: the harness gives `node-ctl boot zk-member ARGS` as the command, so a
# killed server leaves its container, address, volume and iptables rules in place.
CMD ["sleep", "infinity"]

# The nemesis's tools come with the offline base; a registry base gets them here too.
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        zookeeperd iptables iproute2 libfaketime procps \
    && rm -rf /var/lib/apt/lists/* \
    && update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null \
    && mkdir -p /data /run/raftquake \
    && echo "+0" > /run/raftquake/faketime \
    && dpkg-query -W zookeeper

COPY docker/node-ctl.sh /usr/local/bin/node-ctl
COPY docker/netdelay.py /usr/local/bin/netdelay.py
COPY docker/zk-member.sh /usr/local/bin/zk-member
