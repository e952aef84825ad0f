"""A history of active wins as parallel columns, the form a store hands a large history over in."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from itertools import compress
from operator import attrgetter
from typing import Any, overload

from service.domain.progress_inputs import RecordedWin
from service.domain.wins import WinKind, WinStatus


@dataclass(frozen=True, slots=True)
class WinColumns:
    """Active recorded wins as parallel columns: row ``i`` of every column is one win.

    The form a store hands over a large history in: a handful of long lists costs a fraction of a
    million ``RecordedWin`` objects to build, and the engine only ever needs a few whole wins (the
    ones that trigger a draft), which ``row`` builds on demand. ``recompute`` gives the same result
    for ``WinColumns.of(wins)`` as for ``wins``.

    Source keys are not carried (nothing in the engine reads them); ``row`` leaves them empty.
    ``labels``, ``project_keys`` and ``is_subtask`` are only read by the rules' ticket filters: a
    store may leave them out (None) when the team's rules count every ticket, and ``row`` then gives
    the defaults. Rules that do filter refuse columns without them.
    """

    ids: Sequence[int]
    kinds: Sequence[WinKind]
    member_refs: Sequence[str | None]
    occurred_at: Sequence[datetime]  # timezone-aware
    points: Sequence[float | None]
    issue_types: Sequence[str | None]
    sprint_refs: Sequence[str | None]
    is_bug: Sequence[bool]
    kudos_from: Sequence[str | None]
    labels: Sequence[tuple[str, ...]] | None = None
    project_keys: Sequence[str | None] | None = None
    is_subtask: Sequence[bool] | None = None

    def __post_init__(self) -> None:
        lengths = {len(column) for column in self._present()}
        if len(lengths) > 1:
            raise ValueError(f"columns differ in length: {sorted(lengths)}")
        filters = (self.labels, self.project_keys, self.is_subtask)
        if any(c is None for c in filters) and any(c is not None for c in filters):
            raise ValueError("labels, project_keys and is_subtask come together or not at all")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def has_ticket_filters(self) -> bool:
        return self.labels is not None

    def _present(self) -> Iterator[Sequence[object]]:
        return (column for name in _COLUMNS if (column := getattr(self, name)) is not None)

    @classmethod
    def of(cls, wins: Iterable[RecordedWin]) -> WinColumns:
        """The active wins among ``wins``, in their order (the engine ignores the others anyway)."""
        active = [w for w in wins if w.status == WinStatus.ACTIVE]
        return cls(*(list(map(attrgetter(attr), active)) for attr in _COLUMN_ATTRS))

    def row(self, i: int) -> RecordedWin:
        return RecordedWin(
            self.ids[i],
            self.kinds[i],
            WinStatus.ACTIVE,
            self.member_refs[i],
            self.occurred_at[i],
            self.points[i],
            "",
            self.issue_types[i],
            self.sprint_refs[i],
            self.is_bug[i],
            self.kudos_from[i],
            () if self.labels is None else self.labels[i],
            None if self.project_keys is None else self.project_keys[i],
            False if self.is_subtask is None else self.is_subtask[i],
        )

    def _each(self, change: Callable[[Sequence[Any]], list[Any]]) -> WinColumns:
        changed = (None if (c := getattr(self, name)) is None else change(c) for name in _COLUMNS)
        return WinColumns(*changed)  # type: ignore[arg-type]  # every field, in order: mypy cannot tell

    def select(self, positions: Sequence[int]) -> WinColumns:
        """These rows, in this order."""
        return self._each(lambda column: list(map(column.__getitem__, positions)))

    def keep(self, mask: Iterable[bool]) -> WinColumns:
        """The rows whose flag is true."""
        flags = list(mask)
        return self._each(lambda column: list(compress(column, flags)))


_COLUMNS = tuple(f.name for f in fields(WinColumns))
# The RecordedWin attribute behind each column, in the same order.
_COLUMN_ATTRS = (
    "id",
    "kind",
    "member_ref",
    "occurred_at",
    "points",
    "issue_type",
    "sprint_ref",
    "is_bug",
    "kudos_from",
    "labels",
    "project_key",
    "is_subtask",
)


class WinRows(Sequence[RecordedWin]):
    """``WinColumns`` seen as a sequence of wins, each built when it is looked at."""

    __slots__ = ("_columns",)

    def __init__(self, columns: WinColumns) -> None:
        self._columns = columns

    def __len__(self) -> int:
        return len(self._columns)

    @overload
    def __getitem__(self, index: int) -> RecordedWin: ...
    @overload
    def __getitem__(self, index: slice) -> list[RecordedWin]: ...
    def __getitem__(self, index: int | slice) -> RecordedWin | list[RecordedWin]:
        if isinstance(index, slice):
            return [self._columns.row(i) for i in range(len(self))[index]]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._columns.row(index)
