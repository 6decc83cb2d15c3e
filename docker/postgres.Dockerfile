# PostgreSQL 15 from Debian 12's postgresql-15, as a system under test
# (harness/systems/postgres.py). Installed here, on the shared base, when the image is
# first needed: the offline base stays as small as raftnode needs (make run's first build).
ARG BASE=python:3.11-slim
FROM ${BASE}
ARG BASE

# create_main_cluster = false: the package would otherwise make and start a cluster of its
# own; ours is made below, as the template every member's data starts from.
# policy-rc.d: no service is started while the image is built.
RUN mkdir -p /etc/postgresql-common && echo "create_main_cluster = false" \
        > /etc/postgresql-common/createcluster.conf \
    && printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
    && apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        postgresql-15 iptables iproute2 libfaketime procps \
    && rm -rf /var/lib/apt/lists/* \
    && update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null \
    && mkdir -p /data /run/raftquake && echo "+0" > /run/raftquake/faketime

COPY docker/postgres-member.sh /usr/local/bin/postgres-member
# The template: a database cluster made once, with the table every client uses (one row per
# key: `kind` says a list (appends) or a register, `v` the list's elements one JSON value a
# line, or the register's JSON value). A member copies it on its first start.
RUN /usr/local/bin/postgres-member template
COPY docker/node-ctl.sh /usr/local/bin/node-ctl
COPY docker/netdelay.py /usr/local/bin/netdelay.py

LABEL raftquake.image=postgres raftquake.base=${BASE}
# An idle box: the harness gives `node-ctl boot postgres-member run` as the command.
CMD ["sleep", "infinity"]
