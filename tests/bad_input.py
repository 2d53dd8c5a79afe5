"""The contract every bad-input table checks: the command returns ``code`` and prints exactly one
line ``actionlab: error: ...`` holding ``message`` (read after any progress bar's last ``\\r``)."""

from __future__ import annotations

from typing import Any


def one_error_line(capture: Any, argv: list[str], code: int, message: str) -> str:
    """Run ``actionlab argv`` in-process; ``capture`` is pytest's capsys (or capfd, when what
    native code writes to the file descriptor must count too). Returns the line."""
    from utils.cli import main

    assert main(argv) == code
    err = capture.readouterr().err.rsplit("\r", 1)[-1]
    assert err.startswith("actionlab: error: ") and err.count("\n") == 1, err
    assert message in err, err
    return err


def table(commands: dict[tuple[str, ...], list[Any]]) -> list[Any]:
    """``{command: [(name, args, code, message), ...]}`` as pytest parameters
    ``(command, args, code, message)``, each named ``"<command>: <name>"``."""
    import pytest

    return [pytest.param(command, args, code, message, id=f"{' '.join(command)}: {name}")
            for command, rows in commands.items() for name, args, code, message in rows]
