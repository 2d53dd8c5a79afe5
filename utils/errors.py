"""Error types shared by the library, the notebooks and the CLI."""


class InputError(ValueError):
    """Bad input from a user (a file, a flag, a value): the CLI prints one line, exits 2."""
