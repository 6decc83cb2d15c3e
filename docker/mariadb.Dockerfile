# MariaDB 10.11 from Debian 12's mariadb-server, as a system under test
# (harness/systems/mariadb.py). Installed here, on the shared base, when the image is
# first needed: the offline base stays as small as raftnode needs (make run's first build).
#
# Every step up to the LABEL is the same as galera.Dockerfile's, galera-4 and rsync
# included (a few MB, unused by a server started without wsrep): Docker then builds the
# packages and the template once for both images, and the second costs seconds.
ARG BASE=python:3.11-slim
FROM ${BASE}
ARG BASE

# policy-rc.d: the package must not start its server while the image is built.
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
    && apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        mariadb-server galera-4 rsync iptables iproute2 libfaketime procps \
    && rm -rf /var/lib/apt/lists/* \
    && update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null \
    && mkdir -p /data /run/raftquake && echo "+0" > /run/raftquake/faketime

COPY docker/mariadb.cnf /etc/mysql/mariadb.conf.d/99-raftquake.cnf
COPY docker/mariadb-member.sh /usr/local/bin/mariadb-member
# The template data directory: the database, a user for the harness and the table every
# client uses (one row per key). A member copies it on its first start.
RUN /usr/local/bin/mariadb-member template
COPY docker/node-ctl.sh /usr/local/bin/node-ctl
COPY docker/netdelay.py /usr/local/bin/netdelay.py

LABEL raftquake.image=mariadb raftquake.base=${BASE}
# An idle box: the harness gives `node-ctl boot mariadb-member run` as the command.
CMD ["sleep", "infinity"]
