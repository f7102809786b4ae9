"""Errors a user can cause, each naming where the problem is and what was expected.

Every user-facing failure in netto is a :class:`NettoError`. The CLI catches these and prints
their message without a traceback; anything else reaching the CLI is a bug in netto.
"""
from __future__ import annotations


class NettoError(Exception):
    """Base class for errors a user can cause (bad spec, bad data, bad options)."""


class SpecError(NettoError):
    """A measure spec is invalid.

    The message names the file, the field path (``treatment.column``), the line where known,
    and what was expected.
    """

    def __init__(self, file: str, field: str, expected: str, line: int | None = None,
                 got: object = None) -> None:
        self.file, self.field, self.expected, self.line, self.got = file, field, expected, line, got
        where = f"{file}" + (f", line {line}" if line else "")
        msg = f"{where}: field '{field}': {expected}"
        if got is not None:
            shown = repr(got)
            msg += f" (got {shown[:80] + '...' if len(shown) > 80 else shown})"
        super().__init__(msg)


class DataError(NettoError):
    """The data do not fit the spec (missing column, NaN in the treatment, ...)."""

    def __init__(self, source: str, problem: str, column: str | None = None,
                 file_column: str | None = None) -> None:
        self.source, self.column, self.problem = source, column, problem
        self.file_column = file_column
        col = f" column '{column}':" if column else ""
        if column and file_column and file_column != column:
            col = f" column '{column}' (in the file: '{file_column}'):"
        super().__init__(f"{source}:{col} {problem}")


class NotIdentified(NettoError):
    """The design cannot identify the effect; the reason says why in plain words.

    Estimators raise this instead of returning a number; reports show the reason.
    """


class EstimationError(NettoError):
    """An estimator could not produce an estimate on these data (say why)."""


def describe_os_error(e: OSError, doing: str = "use") -> str:
    """A file-system failure in plain words, naming the file: what the user can do about a
    read-only folder, a full disk or a missing path (CLI exit code 2)."""
    import errno

    where = e.filename or "a file"
    why = {errno.EACCES: "permission denied: make it writable or choose another folder "
                         "(--out)",
           errno.EPERM: "operation not permitted: make it writable or choose another folder "
                        "(--out)",
           errno.EROFS: "the file system is read-only: choose another folder (--out)",
           errno.ENOSPC: "the disk is full: free space or choose another folder (--out)",
           errno.EDQUOT: "the disk quota is exceeded: free space or choose another folder",
           errno.ENOENT: "the file or folder does not exist",
           errno.ENOTDIR: "a part of the path is a file, not a folder",
           errno.EISDIR: "it is a folder, not a file"}.get(e.errno, e.strerror or str(e))
    return f"{where}: could not {doing} it: {why}"


def is_user_error(e: BaseException) -> bool:
    """True for what the user can fix: a spec, data or file-system problem (exit code 2)."""
    return isinstance(e, (SpecError, DataError, OSError))
