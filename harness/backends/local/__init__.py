"""The local backend: one raftnode process per node on 127.0.0.1, no Docker."""
