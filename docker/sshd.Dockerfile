# A host for the ssh backend (`raftquake hosts up`): Debian's openssh-server on the shared
# base, which already has python3 (raftnode runs on it), iptables, tc, procps and libfaketime
# (listed again for a registry base). The host and
# client keys are made per run by the harness and put in before sshd starts.
ARG BASE=python:3.11-slim
FROM ${BASE}
ARG BASE

LABEL raftquake.image=sshd raftquake.base=${BASE}
CMD ["sleep", "infinity"]

RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        openssh-server iptables iproute2 procps python3 libfaketime \
    && rm -rf /var/lib/apt/lists/* /etc/ssh/ssh_host_* \
    && update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null \
    && mkdir -p /run/sshd /root/.ssh && chmod 700 /root/.ssh
