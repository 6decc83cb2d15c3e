"""Sequential specifications that histories are checked against.

A model, in the spirit of Porcupine's, is a small object:

- `init()`: the initial state (hashable: the search memoizes on it);
- `prepare(op)`: the compact form `step` works on, or None when the operation
  constrains nothing (a failed write, a read that timed out); raises `ModelError`
  with what was expected when the operation does not fit the model;
- `step(state, prepared)`: the next state, or `INVALID` when the operation cannot
  happen in that state;
- `read_only(prepared)`: True when `step` never changes the state (the search
  linearizes such operations greedily);
- `partition(ops)`: independent groups (by key), each checked on its own;
- `describe_operation(op)`, `describe_state(state)`: text for counterexamples.

A new model subclasses `Model` and fills in `init`, `prepare` and `step`; see
`RegisterModel` for a complete one in about forty lines.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from checkers.history import Op


class ModelError(ValueError):
    """An operation the model cannot interpret (wrong f or value shape)."""


class _Invalid:
    __slots__ = ()

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()
NO_NEED: Any = object()  # `needs_state` cannot name a single state


def freeze(value: Any) -> Hashable:
    """JSON values as hashable ones (lists become tuples)."""
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    return value


def show(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, tuple):
        return "[" + " ".join(show(v) for v in value) + "]"
    if isinstance(value, str):
        return repr(value)
    return str(value)


class Model:
    name = "model"
    #: operations (f) the model understands, for error messages
    functions: tuple[str, ...] = ()

    def init(self) -> Hashable:
        raise NotImplementedError

    def prepare(self, op: Op) -> Any | None:
        raise NotImplementedError

    def step(self, state: Any, prepared: Any) -> Any:
        raise NotImplementedError

    def read_only(self, prepared: Any) -> bool:
        return False

    # Optional, for pruning (the search uses them only when `viable` is overridden):
    def resets(self, prepared: Any) -> bool:
        """True when the operation sets the state whatever it was (a put)."""
        return False

    def blind(self, prepared: Any) -> bool:
        """True when the operation is allowed in every state (a blind write)."""
        return False

    def viable(self, state: Any, prepared: Any) -> bool:
        """Whether the read-only operation could become allowed from `state` through
        operations that are not resets. Must never answer False wrongly."""
        return True

    def needs_state(self, prepared: Any) -> Any:
        """The one state in which the operation is allowed, if there is one (a cas: its
        expected value); NO_NEED when it cannot say. Lets the search index operations."""
        return NO_NEED

    def info_signatures(self, infos: list[Any], definite: list[Any]) -> list[Any]:
        """For the info ops of one key (prepared), a signature each: ops with equal
        signatures must be interchangeable (the same effect on every future). By
        default an op's prepared form."""
        return infos

    def partition(self, ops: list[Op]) -> list[tuple[Any, list[Op]]]:
        groups: dict[Any, list[Op]] = {}
        for op in ops:
            groups.setdefault(op.key, []).append(op)
        return list(groups.items())

    def describe_operation(self, op: Op) -> str:
        where = f" {op.key}" if op.key is not None else ""
        if op.status == "ok" and op.f in ("read", "get"):
            return f"{op.f}{where} -> {show(freeze(op.output))}"
        extra = " (unknown outcome)" if op.status == "info" else ""
        if op.status == "fail":
            extra = f" (failed: {op.error})" if op.error else " (failed)"
        return f"{op.f}{where} {show(freeze(op.value))}{extra}"

    def describe_state(self, state: Any) -> str:
        return show(state)


_UNSEEN = object()  # stands for "a value nobody looks for" in info signatures

# prepared forms of register operations
READ, WRITE, CAS, NOT_EQUAL = 0, 1, 2, 3


class RegisterModel(Model):
    """A register holding one value, initially nil: read and write."""

    name = "register"
    functions = ("read", "write")

    def init(self) -> Hashable:
        return None

    def prepare(self, op: Op) -> Any | None:
        f = op.f
        if f == "read":
            if op.status != "ok":
                return None  # a read that failed or timed out observed nothing
            return (READ, freeze(op.output))
        if f == "write":
            if op.status == "fail":
                return None  # certainly did not happen
            return (WRITE, freeze(op.value))
        return self._prepare_other(op)

    def _prepare_other(self, op: Op) -> Any | None:
        raise ModelError(f"model {self.name} expects f to be one of {', '.join(self.functions)}")

    def step(self, state: Any, p: Any) -> Any:
        code = p[0]
        if code == READ:
            return state if state == p[1] else INVALID
        if code == WRITE:
            return p[1]
        if code == CAS:
            return p[2] if state == p[1] else INVALID
        # NOT_EQUAL: a cas that failed its precondition saw some other value
        return state if state != p[1] else INVALID

    def read_only(self, p: Any) -> bool:
        return p[0] == READ or p[0] == NOT_EQUAL

    def resets(self, p: Any) -> bool:
        return p[0] == WRITE

    def needs_state(self, p: Any) -> Any:
        return p[1] if p[0] in (READ, CAS) else NO_NEED

    def info_signatures(self, infos: list[Any], definite: list[Any]) -> list[Any]:
        # A value that no operation ever looks for (no read returns it, no cas or failed
        # cas expects it) is as good as any other such value: info writes of such values
        # are interchangeable, whatever the value. With unique values, that is most of them.
        wanted = set()
        for p in (*definite, *infos):
            if p[0] != WRITE:
                wanted.add(p[1])
        out = []
        for p in infos:
            if p[0] == WRITE and p[1] not in wanted:
                out.append((WRITE, _UNSEEN))
            elif p[0] == CAS and p[2] not in wanted:
                out.append((CAS, p[1], _UNSEEN))
            else:
                out.append(p)
        return out

    def blind(self, p: Any) -> bool:
        return p[0] == WRITE


class CasRegisterModel(RegisterModel):
    """A register with compare-and-set: `cas` takes `[expected, new]`.

    A cas that completed `fail` with error "precondition" is kept as an observation:
    the register did not hold `expected` at some point while it ran."""

    name = "cas-register"
    functions = ("read", "write", "cas")

    def _prepare_other(self, op: Op) -> Any | None:
        if op.f != "cas":
            return super()._prepare_other(op)
        v = op.value
        if not (isinstance(v, list | tuple) and len(v) == 2):
            raise ModelError(f"expected a cas value [expected, new], got {v!r}")
        if op.status == "fail":
            if op.error == "precondition":
                return (NOT_EQUAL, freeze(v[0]))
            return None
        return (CAS, freeze(v[0]), freeze(v[1]))


GET, PUT, APPEND = 0, 1, 2


class KVModel(Model):
    """Porcupine's key-value model: get, put and append on strings; a key starts "".

    Partitioned by key, so the state the search sees is one key's string."""

    name = "kv"
    functions = ("get", "put", "append")

    def init(self) -> Hashable:
        return ""

    def prepare(self, op: Op) -> Any | None:
        f = op.f
        if f == "get":
            if op.status != "ok":
                return None
            out = op.output
            if out is None:
                out = ""
            if not isinstance(out, str):
                raise ModelError(f"expected a get to return a string, got {out!r}")
            return (GET, out)
        if f not in ("put", "append"):
            raise ModelError(f"model kv expects f to be one of {', '.join(self.functions)}")
        if op.status == "fail":
            return None
        v = op.value
        if not isinstance(v, str):
            raise ModelError(f"expected a {f} value to be a string, got {v!r}")
        return (PUT if f == "put" else APPEND, v)

    def step(self, state: Any, p: Any) -> Any:
        code = p[0]
        if code == GET:
            return state if state == p[1] else INVALID
        if code == PUT:
            return p[1]
        return state + p[1]

    def read_only(self, p: Any) -> bool:
        return p[0] == GET

    def resets(self, p: Any) -> bool:
        return p[0] == PUT

    def blind(self, p: Any) -> bool:
        return p[0] != GET

    def viable(self, state: Any, p: Any) -> bool:
        # without a put, appends only extend the string
        return p[1].startswith(state)

    def describe_state(self, state: Any) -> str:
        return repr(state)


MODELS: dict[str, type[Model]] = {
    "register": RegisterModel,
    "cas-register": CasRegisterModel,
    "kv": KVModel,
}


def get_model(name: str) -> Model:
    try:
        return MODELS[name]()
    except KeyError:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(MODELS)}") from None
