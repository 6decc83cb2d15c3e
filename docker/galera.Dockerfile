# MariaDB 10.11 with Galera 4 (26.4) from Debian 12's mariadb-server and galera-4, as a
# system under test (harness/systems/galera.py); rsync moves a joining member's state
# (SST). Installed here, on the shared base, when the image is first needed.
#
# Every step up to the LABEL is the same as mariadb.Dockerfile's: Docker builds the
# packages and the template once for both images.
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
# The template data directory (as the mariadb image's): the founding member starts on it,
# the others receive its state from the cluster.
RUN /usr/local/bin/mariadb-member template
COPY docker/node-ctl.sh /usr/local/bin/node-ctl
COPY docker/netdelay.py /usr/local/bin/netdelay.py

LABEL raftquake.image=galera raftquake.base=${BASE}
# An idle box: the harness gives `node-ctl boot mariadb-member run --wsrep-on=ON ...`.
CMD ["sleep", "infinity"]
