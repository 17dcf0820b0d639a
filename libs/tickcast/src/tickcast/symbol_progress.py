"""Downstream stages' reports on requested symbols, at most once per change: cheap to call per batch.

The feature pipeline and inference see every symbol in every batch; :class:`SymbolProgress` remembers
what it last said about each one, so the status board (a Redis read, a flushed Kafka write) is only
asked when a symbol shows up for the first time or its stage changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tickcast.contracts import SymbolStage
from tickcast.symbol_status import SymbolStatusBoard


class SymbolProgress:
    def __init__(self, board: SymbolStatusBoard) -> None:
        self._board = board
        self._said: dict[str, tuple[Any, ...]] = {}

    def changes(self, reports: Iterable[tuple[str, SymbolStage, dict[str, Any]]]) -> list[tuple[str, SymbolStage,
                                                                                               dict[str, Any]]]:
        """The reports that differ from what was last said of their symbol (pure: nothing written)."""
        fresh = []
        for symbol, stage, fields in reports:
            said = (stage, tuple(sorted(fields.items())))
            if self._said.get(symbol) != said:
                self._said[symbol] = said
                fresh.append((symbol, stage, fields))
        return fresh

    def report(self, reports: Iterable[tuple[str, SymbolStage, dict[str, Any]]]) -> None:
        """Write the changed reports, for symbols that were requested (others have no record to follow)."""
        for symbol, stage, fields in self.changes(reports):
            self._board.report_if_followed(symbol, stage, **fields)
