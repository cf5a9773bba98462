"""One exception family, so every entry point can print one line and pick an exit code.

`Nb2PipeError` and its subclasses mean *bad input* (exit 2); `StepFailed` means a step of a
pipeline run failed (exit 1).
"""

from __future__ import annotations


class Nb2PipeError(Exception):
    """A user-facing error: printed as ``error: FILE: cell N: message``, never with a traceback."""

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, cell: int | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.cell = cell

    def located(self, file: str) -> Nb2PipeError:
        """Attach the notebook path if nothing more precise is known yet."""
        if self.file is None:
            self.file = file
        return self

    def __str__(self) -> str:
        where = [self.file] if self.file else []
        if self.cell is not None:
            where.append(f"cell {self.cell}")
        return ": ".join([*where, self.message])


def os_problem(error: OSError) -> str:
    """What an OSError means for a user, in words: "the disk is full", not "[Errno 28]"."""
    import errno

    words = {
        errno.ENOSPC: "the disk is full (no space left on device)",
        errno.EDQUOT: "the disk quota is exceeded",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
    }.get(error.errno)
    if words is None and error.errno is None and "requested and" in str(error):
        # numpy and pyarrow report a full disk as a short write, without an errno
        words = "the disk is full (a write was cut short)"
    if words is None:
        return str(error)
    where = f" writing {error.filename}" if error.filename else ""
    return words + where


def warning_line(file: str | None, cell: int | None, message: str) -> str:
    """A hazard that does not stop the pipeline, as one line: ``warning: FILE: cell N: …``."""
    where = [file] if file else []
    if cell:
        where.append(f"cell {cell}")
    return "warning: " + ": ".join([*where, message])


class NotebookError(Nb2PipeError):
    """The file is not a readable Jupyter notebook."""


class TagError(Nb2PipeError):
    """A cell tag of ours is malformed, misspelt or misplaced."""


class ParameterError(Nb2PipeError):
    """The parameters cell holds something that is not a literal assignment."""


class GraphError(Nb2PipeError):
    """The steps do not form a valid pipeline: cycles, unknown steps, undefined names."""


class ArtifactError(Nb2PipeError):
    """An artifact is missing, corrupt or cannot be serialized."""


class StepFailed(Nb2PipeError):
    """A step of a pipeline run failed; names the step, the cell and the executed notebook."""

    exit_code = 1


class CodeError(Nb2PipeError):
    """A code cell is not valid Python, even after IPython's own transformations."""


def first_line(error: BaseException) -> str:
    """The first line of what a library said (XGBoost appends its C++ stack trace)."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0].strip()
