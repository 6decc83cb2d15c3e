# A runner for pytest-xdist's ssh workers (`raftquake hosts up --runners`): a host of
# docker/sshd.Dockerfile (Debian's openssh-server and python3 on the shared base) with a
# virtualenv of Debian's python3 holding the project's dependencies. The containers reach
# no package index, so the packages are the controller's own installed ones, copied
# (harness/backends/ssh/runners.py): the same set `make setup` installs, for the same
# CPython minor version. The project itself is copied in when the runner starts, as rsync
# would, so that a new commit needs no new image.
ARG SSHD
FROM ${SSHD}

LABEL raftquake.image=runner
RUN python3 -m venv --without-pip /opt/raftquake/venv
ADD site-packages.tar /opt/raftquake/venv/lib/python3.11/site-packages/
# Compiled once here, not by every worker's first imports in every new container (they
# made a worker's first test several seconds longer).
# And matplotlib's font cache (the reports' plots), which its first import builds.
RUN /opt/raftquake/venv/bin/python -m compileall -q -j 0 /opt/raftquake/venv/lib/python3.11/site-packages >/dev/null || true; \
    /opt/raftquake/venv/bin/python -c "import matplotlib.pyplot"
