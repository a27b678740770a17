"""Qt item models and item helpers of the panel's tables (Qt through :mod:`.qtcompat`, method calls only)."""

from __future__ import annotations

from typing import Any, Optional, Tuple

from ..geometry.findings import Severity
from . import paneldata
from .qtcompat import qt


class SliceTableModel(qt.QAbstractTableModel):
    """Read-only model of a :class:`paneldata.SliceTable`: Qt asks only for the rows it draws."""

    def __init__(self, parent: Any = None) -> None:
        qt.QAbstractTableModel.__init__(self, parent)
        self._table = paneldata.EMPTY_SLICE_TABLE
        self._headers = paneldata.sliceColumns()  # translated once: the language is set before the panel is made
        self._colours = {severity: qt.QColor(colour) for severity, colour in paneldata.SEVERITY_COLOURS.items()}
        self._textColour = qt.QColor("#000000")
        # Plain ints: Qt calls data() for every visible cell and role, and enum attribute lookups are slow in PySide6.
        self._displayRole = int(qt.Qt.DisplayRole)
        self._toolTipRole = int(qt.Qt.ToolTipRole)
        self._backgroundRole = int(qt.Qt.BackgroundRole)
        self._foregroundRole = int(qt.Qt.ForegroundRole)

    def setTable(self, table: paneldata.SliceTable) -> None:
        self.beginResetModel()
        self._table = table
        self.endResetModel()

    def table(self) -> paneldata.SliceTable:
        return self._table

    def headers(self) -> Tuple[str, ...]:
        """The column headers shown."""
        return self._headers

    def rowCount(self, parent: Any = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self._table.rows)

    def columnCount(self, parent: Any = None) -> int:
        return 0 if parent is not None and parent.isValid() else paneldata.SLICE_COLUMN_COUNT

    def data(self, index: Any, role: int = 0) -> Any:
        if not index.isValid():
            return None
        row = index.row()
        role = int(role)
        if role == self._displayRole:
            return self._table.rows[row][index.column()]
        severity = self._table.severities[row]
        if role == self._toolTipRole:
            return self._table.toolTips[row] or None
        if role == self._backgroundRole and severity is not None:
            return self._colours[severity]
        if role == self._foregroundRole and severity is not None:
            return self._textColour
        return None

    def headerData(self, section: int, orientation: Any, role: int = 0) -> Any:
        if role == qt.Qt.DisplayRole and orientation == qt.Qt.Horizontal:
            return self._headers[section]
        return None


def paintSeverity(item: Any, severity: Optional[Severity]) -> None:
    """Colour a table or list item by severity (black text: the backgrounds are light in any theme)."""
    if severity is not None:
        item.setBackground(qt.QBrush(qt.QColor(paneldata.SEVERITY_COLOURS[severity])))
        item.setForeground(qt.QBrush(qt.QColor("#000000")))


def setFindingsCell(item: Any, row: paneldata.VolumeRow) -> None:
    """The volume table's findings cell: count, tooltip with the messages, severity colour."""
    item.setText(row.cells[-1])
    item.setToolTip(row.toolTip)
    paintSeverity(item, row.severity)
