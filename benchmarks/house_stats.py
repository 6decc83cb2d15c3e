"""The house's figures (issue 22's closing note), before and after, as one table.

    .venv/bin/python benchmarks/house_stats.py    # b5c8a04 (before the house) against HEAD
    .venv/bin/python benchmarks/house_stats.py --before REV --after REV

Each revision is read from `git archive` into a temporary folder, so the work tree's
uncommitted files do not count. Per revision:
- lines: every line of the .py files of each package (harness, checkers, raftnode,
  workloads, tests);
- radon: `radon cc -nd` over the product packages (the blocks ranked D to F);
- duplicates: the library's `duplicates` over the whole tree (its pair count);
- import circles: the strongly connected components of the product packages' import
  graph, every import counted (inside functions too), `if TYPE_CHECKING:` ones not;
- files touched to add a fault, a workload, a checker and a system, traced on one that
  exists in both trees (clock, list-append, elle, etcd): the plug-in's own files, and
  every other product file that imports them or names the plug-in in a string (its
  registration, and any special case of it); files of other plug-ins that name it (a
  system refusing a fault, a bug a checker catches) are listed apart, not counted.

Needs radon (`pip install radon`) and `duplicates` on PATH; says so when either is absent.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the import graph is read as the circles test reads it

from checkers.elle.scc import components  # noqa: E402 - Tarjan's, iterative
from tests.checkers.test_import_circles import imports  # noqa: E402
from tests.checkers.test_import_circles import modules as package_modules  # noqa: E402

PACKAGES = ("harness", "checkers", "raftnode", "workloads", "tests")
PRODUCT = ("harness", "checkers", "raftnode", "workloads")


@dataclass(frozen=True)
class PlugIn:
    kind: str
    name: str  # as a schedule names it
    own: tuple[str, ...]  # its own files: globs relative to the tree


PLUG_INS = (
    PlugIn("fault", "clock", ("harness/nemesis/clock.py",)),
    PlugIn("workload", "list-append", ("workloads/list_append.py",)),
    PlugIn("checker", "elle", ("checkers/elle/*.py",)),
    PlugIn("system", "etcd", ("harness/systems/etcd*.py",)),
)


def extract(rev: str, dest: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def py_files(tree: Path, package: str) -> Iterator[Path]:
    yield from sorted((tree / package).rglob("*.py"))


def lines(tree: Path) -> dict[str, int]:
    out = {p: sum(len(f.read_bytes().splitlines()) for f in py_files(tree, p)) for p in PACKAGES}
    out["total"] = sum(out.values())
    return out


def radon_df(tree: Path) -> list[str]:
    radon = shutil.which("radon") or str(Path(sys.executable).with_name("radon"))
    if not Path(radon).exists():
        return ["(radon not installed: pip install radon)"]
    res = subprocess.run(
        [radon, "cc", "-nd", "-j", *PRODUCT], cwd=tree, capture_output=True, text=True, check=True
    )
    rows = []
    for path, blocks in json.loads(res.stdout).items():
        for b in blocks:
            name = f"{b['classname']}.{b['name']}" if b.get("classname") else b["name"]
            rows.append((-b["complexity"], f"{b['rank']} {b['complexity']:>3} {path}:{name}"))
    return [r for _, r in sorted(rows)]


def duplicate_pairs(tree: Path) -> str:
    tool = shutil.which("duplicates")
    if tool is None:
        return "(duplicates not on PATH)"
    res = subprocess.run(
        [tool, "--repo", str(tree), "--seconds", "300", "--most", "1"],
        capture_output=True,
        text=True,
    )
    first = res.stdout.splitlines()[0] if res.stdout else res.stderr.strip()
    m = re.match(r"(\d+) pairs", first)
    return m.group(1) if m else first


def modules(tree: Path) -> dict[str, Path]:
    return {m: f for package in PRODUCT for m, f in package_modules(package, tree).items()}


def circles(tree: Path) -> list[list[str]]:
    known = modules(tree)
    names = list(known)
    at = {m: i for i, m in enumerate(names)}
    graph = [[at[t] for t in imports(m, known[m], known)] for m in names]
    return sorted(sorted(names[i] for i in comp) for comp in components(graph))


# Files of other plug-ins (systems, faults, workloads, checkers, raftnode's bug table):
# one that names the plug-in says how it meets it (a system refusing a fault, a bug caught
# by a checker), which adding the plug-in does not require; they are listed apart.
FRAMEWORK = {
    "harness/systems/__init__.py",
    "harness/systems/base.py",
    "harness/nemesis/__init__.py",
    "harness/nemesis/base.py",
    "harness/nemesis/package.py",
    "workloads/__init__.py",
    "workloads/base.py",
    "checkers/__init__.py",
    "checkers/registry.py",
    "checkers/protocol.py",
}
PLUG_IN_DIRS = ("harness/systems/", "harness/nemesis/", "workloads/", "checkers/", "raftnode/")


def is_plug_in(path: str) -> bool:
    if path in FRAMEWORK or path.startswith("checkers/history"):
        return False
    return path.startswith(PLUG_IN_DIRS)


def touched(tree: Path, plug: PlugIn) -> list[str]:
    """The plug-in's own files, then the product files that import one of them or name
    the plug-in in a string constant."""
    own = sorted({p for g in plug.own for p in tree.glob(g)})
    own_modules = {".".join(p.relative_to(tree).with_suffix("").parts) for p in own}
    own_modules |= {m.removesuffix(".__init__") for m in own_modules}
    known = modules(tree)
    others = []
    for name, path in known.items():
        if path in own:
            continue
        src = ast.parse(path.read_text())
        names_it = any(
            isinstance(n, ast.Constant)
            and isinstance(n.value, str)
            and (n.value == plug.name or any(m in n.value for m in own_modules))
            for n in ast.walk(src)
        )
        if names_it or imports(name, path, known) & own_modules:
            others.append(str(path.relative_to(tree)))
    return [str(p.relative_to(tree)) for p in own] + sorted(others)


def split(files: list[str], plug: PlugIn) -> tuple[list[str], list[str]]:
    """(the files adding it touches: its own and the framework's; other plug-ins naming it)"""
    own = [f for f in files if any(Path(f).match(g) for g in plug.own)]
    rest = [f for f in files if f not in own]
    return own + [f for f in rest if not is_plug_in(f)], [f for f in rest if is_plug_in(f)]


def figures(rev: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="house-") as tmp:
        tree = extract(rev, Path(tmp))
        return {
            "lines": lines(tree),
            "radon": radon_df(tree),
            "duplicates": duplicate_pairs(tree),
            "circles": circles(tree),
            "touched": {p.kind: touched(tree, p) for p in PLUG_INS},
        }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--before", default="b5c8a04")
    p.add_argument("--after", default="HEAD")
    a = p.parse_args(argv)
    revs = {
        rev: subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", rev],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for rev in (a.before, a.after)
    }
    before, after = figures(a.before), figures(a.after)
    print(f"| figure | before ({revs[a.before]}) | after ({revs[a.after]}) |")
    print("|---|---:|---:|")
    for package in (*PACKAGES, "total"):
        b, f = before["lines"][package], after["lines"][package]
        print(f"| lines {package} | {b} | {f} |")
    print(f"| radon D-F blocks | {len(before['radon'])} | {len(after['radon'])} |")
    print(f"| duplicates pairs | {before['duplicates']} | {after['duplicates']} |")
    print(f"| import circles | {len(before['circles'])} | {len(after['circles'])} |")
    for p in PLUG_INS:
        cells = []
        for fig in (before, after):
            needed, _ = split(fig["touched"][p.kind], p)
            own = [f for f in needed if any(Path(f).match(g) for g in p.own)]
            cells.append(f"{len(own)} own + {len(needed) - len(own)}")
        print(f"| files to add a {p.kind} ({p.name}): own + others | {cells[0]} | {cells[1]} |")
    for label, fig in (("before", before), ("after", after)):
        print(f"\n{label}: radon D-F (`radon cc -nd`, rank complexity block)")
        for row in fig["radon"]:
            print(f"  {row}")
        print(f"{label}: import circles")
        for c in fig["circles"] or [["none"]]:
            print(f"  {' <-> '.join(c)}")
        print(f"{label}: files touched to add it (own files first); [other plug-ins naming it]")
        for p in PLUG_INS:
            needed, naming = split(fig["touched"][p.kind], p)
            print(f"  {p.kind} {p.name}: {', '.join(needed)}  [{', '.join(naming)}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
