"""Error types shared by the library, the notebooks and the CLI."""

import pickle
import re


class InputError(ValueError):
    """Bad input from a user (a file, a flag, a value): the CLI prints one line, exits 2."""


def not_utf8(path: object, exc: UnicodeDecodeError) -> InputError:
    """The one-line error for a text file that is not UTF-8 (Latin-1, binary...)."""
    return InputError(f"{path}: not UTF-8 text ({exc.reason}); save it as UTF-8 "
                      "(e.g. iconv -f latin1 -t utf-8)")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (libraries add advice and tracebacks below)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def code_refusal(exc: BaseException) -> str | None:
    """One line when ``exc`` (or its cause) is a weights-only load refusing a file: names the
    global it met (``GLOBAL builtins.exec``: code, or an object that is not plain data) or the
    opcode it cannot read, and says nothing ran; None for any other error. torch's own message
    is 6-8 lines ending in the advice to load with ``weights_only=False``, exactly what must not
    be done with a file one did not make."""
    for err in (exc, exc.__cause__, exc.__context__):
        text = str(err)
        if not isinstance(err, pickle.UnpicklingError) or "Weights only load failed" not in text:
            continue
        found = re.search(r"Unsupported global: (GLOBAL \S+)", text)
        if found:
            return (f"it holds code or objects a weights-only load does not allow "
                    f"({found.group(1)}); refused, nothing in it was run")
        detail = re.search(r"WeightsUnpickler error:\s*(\S[^\n]*)", text)
        return (f"a weights-only load cannot read it ({detail.group(1) if detail else 'bad data'})"
                "; refused, nothing in it was run")
    return None
