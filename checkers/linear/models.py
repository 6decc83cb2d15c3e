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
    #: whether `get_model(name, initial)` may set the initial state (`--initial`)
    takes_initial = False

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
    """A register holding one value, initially nil (or `initial`): read and write.

    With an initial value other than nil, a read that returned nil constrains nothing,
    as in Knossos (whose tests start registers at 0): the register never lacks a value,
    so nil can only mean the read did not see one. Starting from nil, as in Jepsen, a nil
    read means "no value yet" and is checked."""

    name = "register"
    functions = ("read", "write")
    takes_initial = True

    def __init__(self, initial: Any = None):
        self.initial = freeze(initial)

    def init(self) -> Hashable:
        return self.initial

    def prepare(self, op: Op) -> Any | None:
        f = op.f
        if f == "read":
            if op.status != "ok":
                return None  # a read that failed or timed out observed nothing
            if op.output is None and self.initial is not None:
                return None  # Knossos: a nil read is always legal
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


# Knossos's multi-register: {:f :txn, :value [[:read :x 1] [:write :y 2]]}
MR_READ, MR_WRITE = False, True


class MultiRegisterModel(Model):
    """Knossos's multi-register: several registers, read and written together in one
    `txn` whose value is a list of micro-ops [f, key, value], f `read` or `write` (also
    spelled `r` and `w`). An ok txn's completion carries the values its reads saw.

    Registers start at nil, or at `initial`: one value for every register, or a JSON
    object of them (`{"x": 0, "y": 0}`; registers it leaves out start at nil). As with
    `register`, a nil read of a register that does not start at nil constrains nothing.
    The state is the frozenset of (key, value) for registers away from their initial
    value, so that equal states compare and hash equal."""

    name = "multi-register"
    functions = ("txn",)
    takes_initial = True

    def __init__(self, initial: Any = None):
        if isinstance(initial, dict):
            self._initials = {k: freeze(v) for k, v in initial.items()}
            self._default = None
        else:
            self._initials = {}
            self._default = freeze(initial)

    def _initial(self, key: Any) -> Any:
        return self._initials.get(key, self._default)

    def init(self) -> Hashable:
        return frozenset()

    def prepare(self, op: Op) -> Any | None:
        if op.f != "txn":
            raise ModelError(f"model {self.name} expects f to be txn")
        if op.status == "fail":
            return None  # certainly did not happen
        # what the reads saw comes with an ok completion; an unfinished txn's reads saw
        # nothing anyone knows
        seen = op.status == "ok" and op.output is not None
        mops = op.output if seen else op.value
        if not isinstance(mops, list | tuple):
            raise ModelError(f"expected a txn value [[read x v] [write y v] ...], got {mops!r}")
        out = []
        for mop in mops:
            if not (isinstance(mop, list | tuple) and len(mop) == 3):
                raise ModelError(f"expected a micro-op [read|write key value], got {mop!r}")
            f, k, v = mop[0], freeze(mop[1]), freeze(mop[2])
            if f in ("write", "w"):
                out.append((MR_WRITE, k, v))
            elif f not in ("read", "r"):
                raise ModelError(f"expected a micro-op's f to be read or write, got {f!r}")
            elif seen and (v is not None or self._initial(k) is None):
                out.append((MR_READ, k, v))
        return tuple(out) or None

    def _get(self, state: Any, key: Any) -> Any:
        for k, v in state:
            if k == key:
                return v
        return self._initial(key)

    def step(self, state: Any, p: Any) -> Any:
        values: dict[Any, Any] | None = None  # made once the txn writes
        for write, k, v in p:
            if write:
                if values is None:
                    values = dict(state)
                values[k] = v
                continue
            seen = self._get(state, k) if values is None else values.get(k, self._initial(k))
            if seen != v:
                return INVALID
        if values is None:
            return state
        return frozenset((k, v) for k, v in values.items() if v != self._initial(k))

    def read_only(self, p: Any) -> bool:
        return not any(write for write, _, _ in p)

    def describe_operation(self, op: Op) -> str:
        mops = op.output if op.status == "ok" and op.output is not None else op.value
        text = " ".join(
            f"[{m[0]} {m[1]} {show(freeze(m[2]))}]" if isinstance(m, list | tuple) and len(m) == 3
            else show(freeze(m))
            for m in (mops if isinstance(mops, list | tuple) else [mops])
        )  # fmt: skip
        extra = " (unknown outcome)" if op.status == "info" else ""
        if op.status == "fail":
            extra = " (failed)"
        return f"txn {text}{extra}"

    def describe_state(self, state: Any) -> str:
        held = ", ".join(f"{k}={show(v)}" for k, v in sorted(state, key=lambda kv: repr(kv[0])))
        if self._initials:
            rest = "the others as they started"
        else:
            rest = f"the others {show(self._default)}"
        return f"{{{held}{'; ' if held else ''}{rest}}}"


MUTEX_ACQUIRE, MUTEX_RELEASE = 0, 1


class MutexModel(Model):
    """Knossos's mutex: one lock, free at first; `acquire` takes it when free, `release`
    frees it when held (by anyone: the model does not track holders). A failed acquire
    or release did not happen; two acquires without a release between them cannot both
    have succeeded."""

    name = "mutex"
    functions = ("acquire", "release")

    def init(self) -> Hashable:
        return False  # not held

    def prepare(self, op: Op) -> Any | None:
        if op.f not in self.functions:
            raise ModelError(f"model mutex expects f to be one of {', '.join(self.functions)}")
        if op.status == "fail":
            return None
        return MUTEX_ACQUIRE if op.f == "acquire" else MUTEX_RELEASE

    def step(self, state: Any, p: Any) -> Any:
        if p == MUTEX_ACQUIRE:
            return INVALID if state else True
        return False if state else INVALID

    def needs_state(self, p: Any) -> Any:
        return p == MUTEX_RELEASE  # acquire needs it free, release held

    def describe_operation(self, op: Op) -> str:
        extra = {"info": " (unknown outcome)", "fail": " (failed)"}.get(op.status, "")
        return f"{op.f}{extra}"

    def describe_state(self, state: Any) -> str:
        return "held" if state else "free"


MODELS: dict[str, type[Model]] = {
    "register": RegisterModel,
    "cas-register": CasRegisterModel,
    "kv": KVModel,
    "multi-register": MultiRegisterModel,
    "mutex": MutexModel,
}

_NO_INITIAL: Any = object()


def get_model(name: str, initial: Any = _NO_INITIAL) -> Model:
    """A model by name; `initial`, when given, its initial value (register models only:
    ValueError for the others)."""
    try:
        cls = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(MODELS)}") from None
    if initial is _NO_INITIAL:
        return cls()
    if not cls.takes_initial:
        takes = ", ".join(n for n, c in MODELS.items() if c.takes_initial)
        raise ValueError(f"model {name} takes no initial value; models that do: {takes}")
    return cls(initial)  # type: ignore[call-arg]
