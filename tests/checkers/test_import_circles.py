"""No import circles among the checkers' modules (issue 22), counting every import, those
inside functions too: a circle hidden in a function works until someone moves the import
to the top. Read from the source with ast: what imports what, then Tarjan's components."""

from __future__ import annotations

import ast
from pathlib import Path

from checkers.elle.scc import components

ROOT = Path(__file__).resolve().parents[2]


def modules(package: str, root: Path) -> dict[str, Path]:
    out = {}
    for f in sorted((root / package).rglob("*.py")):
        parts = f.relative_to(root).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The known modules `name` imports anywhere but under `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(n)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for n in ast.walk(block)
    }
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for n in ast.walk(tree):
        if id(n) in typing_only:
            continue
        if isinstance(n, ast.Import):
            out |= {a.name for a in n.names}
        elif isinstance(n, ast.ImportFrom):
            base = n.module or ""
            if n.level:
                up = package
                for _ in range(n.level - 1):
                    up = up.rpartition(".")[0]
                base = f"{up}.{base}" if base else up
            subs = [f"{base}.{a.name}" for a in n.names]
            out |= {s for s in subs if s in known}
            if any(s not in known for s in subs):
                out.add(base)
    return {m for m in out if m in known and m != name}


def circles(package: str, root: Path = ROOT) -> list[list[str]]:
    known = modules(package, root)
    names = list(known)
    at = {m: i for i, m in enumerate(names)}
    graph = [[at[t] for t in imports(m, known[m], known)] for m in names]
    return [sorted(names[i] for i in comp) for comp in components(graph)]


def test_the_checkers_import_no_circle():
    assert circles("checkers") == []


def test_a_circle_is_seen(tmp_path):
    # the test above can fail: two modules importing each other inside functions
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from pkg import b\n")
    (pkg / "b.py").write_text("def g():\n    from pkg.a import f\n")
    assert circles("pkg", tmp_path) == [["pkg.a", "pkg.b"]]
