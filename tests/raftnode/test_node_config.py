"""`python -m raftnode` arguments: the contract's flags, and clear errors for bad ones."""

from __future__ import annotations

import pytest

from raftnode.config import SECRET_ENV, parse_args
from raftnode.wire import mac_key

BASE = ["--id", "n1", "--listen", "0.0.0.0:7000", "--data-dir", "/tmp/x"]
PEERS = ["--peers", "n1=n1:7000,n2=n2:7000,n3=10.0.0.3:7000"]


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    """A cluster secret in the environment, as the harness gives its nodes one."""
    monkeypatch.setenv(SECRET_ENV, "s" * 32)


def test_contract_flags_parse():
    cfg = parse_args(BASE + PEERS + ["--read-mode", "lease", "--bug", "stale-read",
                                     "--bug", "ack-before-commit"])  # fmt: skip
    assert cfg.listen == ("0.0.0.0", 7000)
    assert cfg.peers == {"n1": ("n1", 7000), "n2": ("n2", 7000), "n3": ("10.0.0.3", 7000)}
    assert cfg.read_mode == "lease"
    assert cfg.bugs == {"stale-read", "ack-before-commit"}
    assert cfg.core_bugs == {"stale-read"}  # ack-before-commit lives in the server
    assert (cfg.tick_ms, cfg.election_ticks, cfg.fsync) == (50.0, 10, True)
    assert cfg.mac_key == mac_key("s" * 32)  # from RAFTNODE_SECRET


def test_the_secret_comes_from_a_file_or_the_environment_and_off_only_when_asked(
    monkeypatch, tmp_path
):
    f = tmp_path / "secret"
    f.write_text("from-the-file-0123456789\n")
    assert parse_args(BASE + PEERS + ["--secret-file", str(f)]).mac_key == mac_key(
        "from-the-file-0123456789"
    )
    monkeypatch.delenv(SECRET_ENV)
    assert parse_args(BASE + PEERS + ["--no-auth"]).mac_key is None


@pytest.mark.parametrize(
    "env, extra, message",
    [
        (None, [], "no cluster secret: set RAFTNODE_SECRET or give --secret-file"),
        ("short", [], "RAFTNODE_SECRET: a cluster secret needs at least 16 characters"),
        (None, ["--secret-file", "/nonexistent/secret"], "cannot read /nonexistent/secret"),
        (None, ["--no-auth", "--secret-file", "/x"], "choose one"),
    ],
)
def test_a_node_without_a_usable_secret_refuses_to_start(monkeypatch, capsys, env, extra, message):
    if env is None:
        monkeypatch.delenv(SECRET_ENV)
    else:
        monkeypatch.setenv(SECRET_ENV, env)
    with pytest.raises(SystemExit) as e:
        parse_args(BASE + PEERS + extra)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


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
