"""The ssh backend: the system under test on hosts reached over SSH (Jepsen's own model:
a control node driving hosts). inventory.py reads the hosts file, remote.py holds the
SSH connections, cluster.py is the Cluster, shell.py the commands it runs on a host,
hosts.py makes sshd hosts of containers (`raftquake hosts up/down`), clean.py heals a
host a dead run left faulted."""
