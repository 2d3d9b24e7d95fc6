"""What leaktest's generic classes need at run time, without importing `typing`.

`typing` is about 800 objects that the garbage collector traverses on every full
collection. A suite that never imports it (CPython's test_socket, which collects
after each of its threaded tests) took 0.7-1.1 s more CPU time with it imported,
on top of 4 s. So leaktest imports `typing` only for the type checker
(``TYPE_CHECKING = False`` then ``if TYPE_CHECKING:``, in every module), and a
class that is generic or a named tuple at run time takes its base and type
variables from here.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from types import GenericAlias


class Generic:
    """`typing.Generic` as a base: subscripting it, or a class derived from it, makes a
    `types.GenericAlias` (as `list[int]` does), which a class statement resolves to the
    class itself."""

    __slots__ = ()

    def __class_getitem__(cls, parameters: object) -> GenericAlias:
        return GenericAlias(cls, parameters)


def TypeVar(name: str, **_: object) -> str:  # noqa: N802 (named as what it stands in for)
    """A type variable's stand-in: only subscriptions read it, and only its name."""
    return name


_namedtuple: Callable[..., type] = collections.namedtuple  # (called with names not known statically)


class _NamedTupleType(type):
    """What makes a class statement deriving from `NamedTuple` a `collections.namedtuple`:
    its annotated names are the fields (with `from __future__ import annotations`, every
    supported version puts them in the class namespace), their values the defaults."""

    def __new__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, object]) -> type:
        if not bases:  # `NamedTuple` itself
            return super().__new__(cls, name, bases, namespace)
        fields = dict(namespace["__annotations__"])  # type: ignore[call-overload]
        defaults = [namespace[field] for field in fields if field in namespace]
        made = _namedtuple(name, fields, defaults=defaults, module=namespace["__module__"])
        made.__doc__ = namespace.get("__doc__")  # type: ignore[assignment]
        return made


class NamedTuple(metaclass=_NamedTupleType):
    """`typing.NamedTuple` as a base, for classes of fields and defaults only."""
