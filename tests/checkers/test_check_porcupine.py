"""Porcupine's own verdicts (../shared/data/porcupine/VERDICTS.tsv) must all agree."""

from __future__ import annotations

import os

import pytest
from check_helpers import PORCUPINE

from checkers.history.importers import read_history
from checkers.linear.models import get_model
from checkers.linear.search import check_history
from harness.cli import main


def _verdicts() -> list[tuple[str, str, str]]:
    path = PORCUPINE / "VERDICTS.tsv"
    if not path.exists():
        return []
    rows = [line.split("\t") for line in path.read_text().splitlines()[1:] if line.strip()]
    return [(f, fmt, exp) for f, fmt, exp in rows if exp != "skip"]


VERDICTS = _verdicts()


def test_porcupine_data_present() -> None:
    if not VERDICTS:
        msg = f"Porcupine's verdict suite is missing: expected {PORCUPINE}/VERDICTS.tsv"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    assert len(VERDICTS) == 108  # 103 etcd logs (one skipped) + 6 kv histories


@pytest.mark.parametrize("name,fmt,expected", VERDICTS, ids=[v[0] for v in VERDICTS])
def test_porcupine_verdict(name: str, fmt: str, expected: str) -> None:
    h = read_history(str(PORCUPINE / name))  # --format auto must recognise it
    assert h.format == fmt
    model = get_model("kv" if fmt == "porcupine-kv" else "cas-register")
    r = check_history(h.events, model, timeout=60, file=name)
    assert r.valid == (expected == "linearizable"), r.to_dict()
    if r.valid is False:
        cx = r.counterexample
        assert cx is not None and cx.stuck in cx.ops_involved()
        assert cx.states, "a counterexample names the states the model could be in"


def test_one_cli_call_over_all_files(capsys: pytest.CaptureFixture[str]) -> None:
    """Several files: one JSON verdict per file; exit with the worst (1: some invalid)."""
    if not VERDICTS:
        pytest.skip("no Porcupine data")
    import json

    paths = [str(PORCUPINE / v[0]) for v in VERDICTS]
    assert main(["check", "--json", *paths]) == 1
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [d["file"] for d in lines] == paths
    want = [v[2] == "linearizable" for v in VERDICTS]
    assert [d["valid"] for d in lines] == want
