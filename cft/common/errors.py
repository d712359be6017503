"""The one error type the scripts turn into a single line on stderr and exit 1."""


class CftError(Exception):
    """A user-facing error: bad input, a missing or mismatched file, a bad flag.

    The message names the file and, where there is one, the row.
    """
