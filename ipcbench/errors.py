"""The error types that cross module boundaries, and the exit codes the command line maps them to.

Every error a user can cause (bad arguments, unreadable or malformed files, an unwritable folder) is an
``InputError``: the command line prints its message as one line on stderr and exits with status 2.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class InputError(Exception):
    """Bad input from the user: printed as one line, exit status 2, never a traceback."""


class ResultFileError(InputError):
    """A result file that is missing, unreadable, malformed, or of a schema this version cannot read."""


class PayloadError(Exception):
    """A message broke the payload contract: lost, duplicated, reordered, truncated or corrupted."""


class PeerError(Exception):
    """A peer process failed, hung past its timeout, or died; the cell it ran is recorded as failed."""
