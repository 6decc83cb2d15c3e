"""Suite-wide options. `make test` is the whole suite on a 2-core machine in about 20
minutes; the long Docker detection runs that would push it past that are marked `nightly`
and run only with `--nightly` (docs/nightly-ci.yml's job does), as benchmarks/ measures
the rates they sample."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--nightly",
        action="store_true",
        help="also run the tests marked nightly (long Docker runs; the nightly job)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--nightly"):
        return
    skip = pytest.mark.skip(reason="nightly: a long Docker run (pytest --nightly runs it)")
    for item in items:
        if "nightly" in item.keywords:
            item.add_marker(skip)
