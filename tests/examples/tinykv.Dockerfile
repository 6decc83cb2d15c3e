# tinykv's image: raftquake's base (BASE: the offline Debian base, or python:3.11-slim
# where a registry is), node-ctl and netdelay (which raftquake adds to every system's
# build context under docker/), and the server.
ARG BASE=python:3.11-slim
FROM ${BASE}
ARG BASE
LABEL raftquake.image=tinykv raftquake.base=${BASE}
CMD ["sleep", "infinity"]
# The faults need iptables, tc and ps; the offline base has them already.
RUN if ! command -v iptables-legacy >/dev/null || ! command -v pgrep >/dev/null; then \
        apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            iptables iproute2 procps libfaketime && rm -rf /var/lib/apt/lists/*; \
    fi && mkdir -p /data /run/raftquake && echo "+0" > /run/raftquake/faketime
COPY docker/node-ctl.sh /usr/local/bin/node-ctl
COPY docker/netdelay.py /usr/local/bin/netdelay.py
COPY tinykv_server.py /opt/tinykv/server.py
