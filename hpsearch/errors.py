"""The error type of problems the user can fix: a bad config, a missing or foreign results
directory, a wrong command-line option.

The command line prints a UserError as one line and exits with status 2; any other exception
is a bug and shows its traceback. A UserError is a ValueError, so Python code that passes bad
input to the library can still catch ValueError.
"""


class UserError(ValueError):
    """A problem the user can fix, with a one-line message naming it (its key path or file)."""
