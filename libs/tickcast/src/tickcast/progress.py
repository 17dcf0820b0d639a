"""Progress bars that suit where they are read.

On a terminal, tqdm's bar is redrawn in place. Anywhere else (``make up``'s interleaved log, a
file, a CI log) each redraw would be appended: one line thousands of characters long, or a line
per redraw. There the bar is printed as a plain line every ``LINE_INTERVAL_S`` seconds instead,
plus one at the end.
"""

from __future__ import annotations

import sys
from typing import IO, Any

from tqdm import tqdm

LINE_INTERVAL_S = 30.0


class _Lines:
    """A stream for tqdm that turns each redraw into one line of its own."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        line = text.replace("\r", "").rstrip()  # tqdm pads a redraw with spaces to erase the last one
        if line:
            self._stream.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        self._stream.flush()


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def progress_bar(*args: Any, file: IO[str] | None = None, **kwargs: Any) -> tqdm:
    """A ``tqdm`` bar on ``file`` (stderr): in place on a terminal, a line now and then elsewhere."""
    stream = file if file is not None else sys.stderr
    if _is_terminal(stream):
        return tqdm(*args, file=stream, **kwargs)
    kwargs.setdefault("mininterval", LINE_INTERVAL_S)
    kwargs.setdefault("maxinterval", LINE_INTERVAL_S)  # tqdm's monitor would redraw every 10 s
    kwargs.setdefault("ascii", True)
    return tqdm(*args, file=_Lines(stream), dynamic_ncols=False, ncols=100, **kwargs)
