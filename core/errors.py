"""One exception type for every problem a user can fix; the CLI prints it as a one-line error."""


class TargetbotError(Exception):
    """A user-facing error: bad input, missing artifact, refused model file.

    The message must name what is wrong (file, row, column, value) in one line.
    """


class DataError(TargetbotError):
    """A data or scenario file breaks the data contract."""
