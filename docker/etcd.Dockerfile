# etcd 3.4 from Debian's etcd-server, as a system under test (harness/systems/etcd.py).
# The same base as the node image: the offline base already has etcd-server and the
# nemesis's tools; a registry base (python:3.11-slim) gets them from Debian here.
ARG BASE=python:3.11-slim
FROM ${BASE}
ARG BASE

LABEL raftquake.image=etcd raftquake.base=${BASE}
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
# An idle box: the harness gives `node-ctl boot etcd ARGS` as the command, so a killed
# member leaves its container, address, volume and iptables rules in place.
CMD ["sleep", "infinity"]

RUN if ! command -v etcd >/dev/null || ! command -v iptables-legacy >/dev/null \
        || ! command -v tc >/dev/null || ! command -v pgrep >/dev/null; then \
        apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            etcd-server iptables iproute2 libfaketime procps && rm -rf /var/lib/apt/lists/*; \
    fi \
    && update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null \
    && mkdir -p /data /run/raftquake \
    && echo "+0" > /run/raftquake/faketime

COPY docker/node-ctl.sh /usr/local/bin/node-ctl
COPY docker/netdelay.py /usr/local/bin/netdelay.py
