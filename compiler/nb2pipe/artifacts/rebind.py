"""Functions and classes that an earlier step defined, given the globals of the step reading
them, as in Run All (where a notebook function reads the notebook's globals when called)."""

import sys
import types
from typing import Any


def rebind(value: Any) -> Any:
    """Give a function (or class) defined in an earlier step the globals of this one.

    cloudpickle gives an unpickled notebook function a private copy of the globals it used
    when it was saved; in Run All it reads the notebook's globals when it is called. The
    compiler loads what such a function reads into this step; here it is made to see them.
    """
    main = sys.modules.get("__main__")
    if main is None:
        return value
    if isinstance(value, types.FunctionType) and value.__module__ == "__main__":
        return with_globals(value, vars(main))
    if isinstance(value, type) and value.__module__ == "__main__":
        for attribute, member in list(vars(value).items()):
            if isinstance(member, types.FunctionType) and member.__module__ == "__main__":
                setattr(value, attribute, with_globals(member, vars(main)))
    return value


def with_globals(function: types.FunctionType, namespace: dict) -> types.FunctionType:
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
