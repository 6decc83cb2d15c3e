"""`python -m raftnode` arguments: the contract's flags, and clear errors for bad ones."""

from __future__ import annotations

import pytest

from raftnode.config import parse_args

BASE = ["--id", "n1", "--listen", "0.0.0.0:7000", "--data-dir", "/tmp/x"]
PEERS = ["--peers", "n1=n1:7000,n2=n2:7000,n3=10.0.0.3:7000"]


def test_contract_flags_parse():
    cfg = parse_args(BASE + PEERS + ["--read-mode", "lease", "--bug", "stale-read",
                                     "--bug", "ack-before-commit"])  # fmt: skip
    assert cfg.listen == ("0.0.0.0", 7000)
    assert cfg.peers == {"n1": ("n1", 7000), "n2": ("n2", 7000), "n3": ("10.0.0.3", 7000)}
    assert cfg.read_mode == "lease"
    assert cfg.bugs == {"stale-read", "ack-before-commit"}
    assert cfg.core_bugs == {"stale-read"}  # ack-before-commit lives in the server
    assert (cfg.tick_ms, cfg.election_ticks, cfg.fsync) == (50.0, 10, True)


@pytest.mark.parametrize(
    "args, message",
    [
        (BASE + ["--peers", "n2=h:1,n3=h:2"], "must list this node"),
        (BASE + ["--peers", "n1=h:1,n2"], "expected ID=HOST:PORT"),
        (BASE + ["--peers", "n1=h:x"], "expected HOST:PORT"),
        (BASE + ["--peers", "n1=h:1,n1=h:2"], "listed twice"),
        (BASE + PEERS + ["--bug", "nonsense"], "invalid choice"),
        (BASE + PEERS + ["--read-mode", "fast"], "invalid choice"),
        (BASE + PEERS + ["--election-ticks", "1"], "election-ticks"),
    ],
)
def test_bad_arguments_exit_2_with_a_reason(capsys, args, message):
    with pytest.raises(SystemExit) as e:
        parse_args(args)
    assert e.value.code == 2
    assert message in capsys.readouterr().err
