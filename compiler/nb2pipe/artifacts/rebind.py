"""Functions and classes made by an earlier step, given the globals of the step that loads them.

cloudpickle gives an unpickled notebook function a private copy of the globals it used when it
was saved; in Run All it reads the notebook's globals when it is called. The compiler loads what
such a function reads into the loading step; here the function is made to see them.

Imported in every step kernel: the standard library only.
"""

import sys
import types
from typing import Any


def rebind(value: Any) -> Any:
    """`value`, or a copy of it, whose notebook functions read this step's globals."""
    main = sys.modules.get("__main__")
    if main is None:
        return value
    namespace = vars(main)
    if _from_notebook(value):
        return _with_globals(value, namespace)
    if isinstance(value, type) and value.__module__ == "__main__":
        for attribute, member in list(vars(value).items()):
            if _from_notebook(member):
                setattr(value, attribute, _with_globals(member, namespace))
            elif isinstance(member, types.FunctionType):
                _rebind_closure(member, namespace)
    return value


def _from_notebook(function: Any) -> bool:
    """A function whose code was written in the notebook. Decided by the globals its code reads,
    not by `__module__`: `functools.wraps` copies that from the function it wraps, so a
    library's wrapper of a notebook method (scikit-learn wraps `transform` of every
    TransformerMixin subclass) says "__main__" too, yet reads its own module's globals."""
    return (
        isinstance(function, types.FunctionType)
        and function.__globals__.get("__name__") == "__main__"
    )


def _rebind_closure(wrapper: types.FunctionType, namespace: dict) -> None:
    """The notebook functions a library's wrapper holds get this step's globals too."""
    for cell in wrapper.__closure__ or ():
        try:
            inner = cell.cell_contents
        except ValueError:
            continue  # an empty cell
        if _from_notebook(inner):
            cell.cell_contents = _with_globals(inner, namespace)


def _with_globals(function: types.FunctionType, namespace: dict) -> types.FunctionType:
    if function.__globals__ is namespace:
        return function
    copy = types.FunctionType(
        function.__code__,
        namespace,
        function.__name__,
        function.__defaults__,
        function.__closure__,
    )
    copy.__kwdefaults__ = function.__kwdefaults__
    copy.__qualname__ = function.__qualname__
    copy.__annotations__ = function.__annotations__
    copy.__doc__ = function.__doc__
    copy.__dict__.update(function.__dict__)
    for cell in function.__closure__ or ():
        try:
            if cell.cell_contents is function:  # a wrapper that refers to itself
                cell.cell_contents = copy
        except ValueError:
            pass  # an empty cell
    return copy
