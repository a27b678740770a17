"""Every user-visible string of the panel goes through ``_()``, as Slicer's internationalization requires.

The rules (Slicer's ``slicer.i18n.tr`` and its string extraction): the text given to a Qt text setter or
constructor (``setText``, ``setToolTip``, ``QPushButton(...)``, ``addTab(widget, text)``, ...), to the
panel's own status line and error display, or to a plot's labels is not a literal: it is ``_("...")``,
maybe formatted, or a value (a node name, a finding's message: data, not translated). ``_()`` takes one
string literal, never an f-string or an expression (the extraction reads the literal from the source, and
an f-string's braces would run code from a translation); its ``{placeholders}`` are exactly the keywords of
the ``.format(...)`` called on its result.

The modules are parsed with ``ast``, nothing is imported: the rule holds for code paths the other tests
never run. ``test_the_checker_catches_a_planted_violation`` shows each rule can fail.
"""

from __future__ import annotations

import ast
import glob
import os
import re
import string
import subprocess
import sys
from typing import Dict, Iterator, List, Tuple

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE_FOLDER = os.path.join(ROOT, "AffineInspector")
CHECKED_FILES = sorted(
    glob.glob(os.path.join(MODULE_FOLDER, "AffineInspectorLib", "ui", "*.py"))
    + [os.path.join(MODULE_FOLDER, "AffineInspector.py")]
)

TEXT_ARGUMENTS: Dict[str, Tuple[int, ...]] = {
    # Qt setters and adders (called as methods)
    "setText": (0,),
    "setToolTip": (0,),
    "setStatusTip": (0,),
    "setWhatsThis": (0,),
    "setWindowTitle": (0,),
    "setPlaceholderText": (0,),
    "setTitle": (0,),
    "setLabelText": (0,),
    "setInformativeText": (0,),
    "setDetailedText": (0,),
    "setPlainText": (0,),
    "setTabText": (1,),
    "setTabToolTip": (1,),
    "setItemText": (1,),
    "setHorizontalHeaderLabels": (0,),
    "setVerticalHeaderLabels": (0,),
    "setHeaderLabels": (0,),
    "addItem": (0,),
    "addItems": (0,),
    "addAction": (0,),
    "addMenu": (0,),
    "addTab": (1,),
    "insertTab": (2,),
    "addRow": (0,),
    "showMessage": (0,),
    # Qt constructors and static dialogs (qt.QLabel(...), qt.QFileDialog.getOpenFileName(...))
    "QLabel": (0,),
    "QPushButton": (0,),
    "QCheckBox": (0,),
    "QRadioButton": (0,),
    "QGroupBox": (0,),
    "QAction": (0,),
    "QMenu": (0,),
    "QProgressDialog": (0, 1),
    "QMessageBox": (1, 2),
    "information": (1, 2),
    "warning": (1, 2),
    "critical": (1, 2),
    "question": (1, 2),
    "getOpenFileName": (1, 3),
    "getOpenFileNames": (1, 3),
    "getSaveFileName": (1, 3),
    "getExistingDirectory": (1,),
    # Slicer's and the panel's own ways of telling the user something
    "showStatusMessage": (0,),
    "delayDisplay": (0,),
    "errorDisplay": (0,),
    "tryWithErrorDisplay": (0,),
    "showErrorDialog": (0,),
    "setStatus": (0,),
    "errorsShown": (0,),
    "progressDialog": (0,),
    "clear": (0,),  # ConventionsView.clear(message); Qt's clear() takes no text
    "GeometryError": (0,),  # raised in the ui layer, it reaches the user through errorsShown
    # matplotlib (the step and tilt plot)
    "set_xlabel": (0,),
    "set_ylabel": (0,),
    "set_title": (0,),
}
"""Call name (method, class or function) -> positions of its user-visible text arguments."""

TEXT_KEYWORDS = {"label", "title", "text"}
"""Keyword arguments that are user-visible text in the calls above (matplotlib's ``label=``) and in ``plot``."""

TEXT_ATTRIBUTES = {"title", "helpText", "acknowledgementText"}
"""The module's texts (``self.parent.title = ...``)."""

_LETTER = re.compile(r"[^\W\d_]")


def _callName(call: ast.Call) -> str:
    function = call.func
    if isinstance(function, ast.Attribute):
        return function.attr
    if isinstance(function, ast.Name):
        return function.id
    return ""


def _isTranslation(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_"


def untranslatedLiterals(node: ast.AST) -> Iterator[str]:
    """The literal words in an expression that do not go through ``_()`` (empty for ``_("...")``, a name, a call)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        if _LETTER.search(node.value):
            yield node.value
    elif isinstance(node, ast.JoinedStr):
        for part in node.values:
            if isinstance(part, ast.Constant) and isinstance(part.value, str) and _LETTER.search(part.value):
                yield ast.unparse(node)
                return
    elif isinstance(node, ast.BinOp):
        yield from untranslatedLiterals(node.left)
        yield from untranslatedLiterals(node.right)
    elif isinstance(node, ast.IfExp):
        yield from untranslatedLiterals(node.body)
        yield from untranslatedLiterals(node.orelse)
    elif isinstance(node, (ast.List, ast.Tuple)):
        for element in node.elts:
            yield from untranslatedLiterals(element)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        yield from untranslatedLiterals(
            node.func.value
        )  # "literal {x}".format(...) is a literal; _("..").format is not


def _alternatives(node: ast.AST) -> Iterator[ast.AST]:
    """The values an expression can have: both branches of a conditional expression, else itself."""
    if isinstance(node, ast.IfExp):
        yield from _alternatives(node.body)
        yield from _alternatives(node.orelse)
    else:
        yield node


def placeholders(text: str) -> set:
    """The field names of a format string (``{count}``, ``{count:.3g}`` -> ``count``)."""
    names = set()
    for _literal, field, _spec, _conversion in string.Formatter().parse(text):
        if field is not None:
            names.add(re.split(r"[.\[]", field)[0])
    return names


def violations(source: str, fileName: str) -> List[str]:
    """The rule's violations in one module's source, as ``file:line: what``."""
    tree = ast.parse(source)
    formatted = {}  # id of a _() call -> the .format call on its result
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            for text in _alternatives(node.func.value):  # _("a").format(...), (_("a") if c else _("b")).format(...)
                if _isTranslation(text):
                    formatted[id(text)] = node
    problems = []
    for node in ast.walk(tree):
        where = f"{fileName}:{getattr(node, 'lineno', 0)}"
        if _isTranslation(node):
            assert isinstance(node, ast.Call)
            argument = node.args[0] if len(node.args) == 1 and not node.keywords else None
            if not (isinstance(argument, ast.Constant) and isinstance(argument.value, str)):
                problems.append(f"{where}: _() takes one string literal, not {ast.unparse(node)}")
                continue
            names = placeholders(argument.value)
            formatCall = formatted.get(id(node))
            if formatCall is None:
                if names:
                    problems.append(f"{where}: _({argument.value!r}) has placeholders {sorted(names)} but no .format")
                continue
            keywords = {keyword.arg for keyword in formatCall.keywords}
            if formatCall.args or None in keywords or keywords != names:
                problems.append(
                    f"{where}: _({argument.value!r}) has placeholders {sorted(names)}, "
                    f".format gets {ast.unparse(formatCall).split('.format', 1)[-1]}"
                )
        elif isinstance(node, ast.Call):
            name = _callName(node)
            texts = [node.args[index] for index in TEXT_ARGUMENTS.get(name, ()) if index < len(node.args)]
            if name in TEXT_ARGUMENTS or name in ("plot", "axhline", "legend"):
                texts += [keyword.value for keyword in node.keywords if keyword.arg in TEXT_KEYWORDS]
            for text in texts:
                for literal in untranslatedLiterals(text):
                    problems.append(f"{where}: {name}() gets the untranslated {literal!r}")
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and target.attr in TEXT_ATTRIBUTES:
                    for literal in untranslatedLiterals(node.value):
                        problems.append(f"{where}: .{target.attr} = the untranslated {literal!r}")
    return problems


def _relative(path: str) -> str:
    return os.path.relpath(path, ROOT)


@pytest.mark.parametrize("path", CHECKED_FILES, ids=_relative)
def test_user_visible_strings_go_through_tr(path):
    with open(path, encoding="utf-8") as file:
        assert violations(file.read(), _relative(path)) == []


def test_the_modules_with_texts_translate_them():
    """The check above sees the modules it is meant for, and they do call _() (a rename would not slip by)."""
    counts = {}
    for path in CHECKED_FILES:
        with open(path, encoding="utf-8") as file:
            tree = ast.parse(file.read())
        counts[os.path.basename(path)] = sum(1 for node in ast.walk(tree) if _isTranslation(node))
    for name in ("panel.py", "paneldata.py", "aligntab.py", "conventionsview.py", "window.py", "analyses.py"):
        assert counts[name] > 0, name
    assert counts["AffineInspector.py"] >= 5
    assert "translation.py" in counts and "qtcompat.py" in counts


def test_translating_keeps_the_plain_data_modules_free_of_qt_and_slicer():
    """paneldata and analyses translate through ui/translation.py, which imports neither Qt (qtcompat would:
    PySide6 outside Slicer) nor slicer: a fresh interpreter that imports them has loaded none of those."""
    code = (
        "import sys\n"
        "from AffineInspectorLib.ui import analyses, paneldata, translation\n"
        "assert paneldata.sliceColumns()[1] == 'File' and translation.tr('File') == 'File'\n"
        "print(sorted({name.split('.')[0] for name in sys.modules} & {'PySide6', 'qt', 'PythonQt', 'slicer', 'vtk'}))\n"
    )
    environment = dict(os.environ, PYTHONPATH=MODULE_FOLDER)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "source, expected",
    [
        ('label.setText("Done")', "setText() gets the untranslated 'Done'"),
        ('button = qt.QPushButton("Compare")', "QPushButton() gets the untranslated 'Compare'"),
        ('tabs.addTab(widget, "Align")', "addTab() gets the untranslated 'Align'"),
        ('table.setHorizontalHeaderLabels(["#", "File"])', "untranslated 'File'"),
        ('self.setStatus(f"Copied {name}.")', "setStatus() gets the untranslated"),
        ('label.setText(_("Needs x.") + " <a href=x>" + _("Install"))', "untranslated ' <a href=x>'"),
        ('qt.QFileDialog.getOpenFileName(w, _("Open"), "", f"Images ({p})")', "untranslated"),
        ('raise GeometryError("select a volume first")', "GeometryError() gets the untranslated"),
        ('axes.axhline(1.0, label="median")', "axhline() gets the untranslated 'median'"),
        ('self.parent.helpText = "Shows matrices"', ".helpText = the untranslated"),
        ('text = _(f"Loaded {n} files")', "_() takes one string literal"),
        ('text = _("Loaded " + name)', "_() takes one string literal"),
        ('text = _("Loaded {count} files")', "has placeholders ['count'] but no .format"),
        ('text = _("Loaded {count} files").format(n=3)', "has placeholders ['count'], .format gets"),
        ('text = _("Loaded {count} files").format(3)', "has placeholders ['count'], .format gets"),
        ('text = (_("{a} copied") if c else _("{b} sampled")).format(a=1)', "has placeholders ['b'], .format gets"),
    ],
)
def test_the_checker_catches_a_planted_violation(source, expected):
    problems = violations(source, "planted.py")
    assert len(problems) == 1 and expected in problems[0], problems


@pytest.mark.parametrize(
    "source",
    [
        'label.setText(_("Done"))',
        'label.setText(_("Loaded {count} files").format(count=n))',
        'label.setText(_("{a} of {b:.3g}").format(a=1, b=2.0))',
        "label.setText(info.name)",
        'label.setText("")',
        'self.setStatus(f"{name}: {error}")',  # no words of its own
        "combo.addItem(name)",
        'label.setStyleSheet("color: #b3261e;")',  # not a text setter
        'label.setText((_("{a} copied") if copied else _("{a} sampled")).format(a=name))',
        'text = _("Resampling failed")',
    ],
)
def test_the_checker_accepts_translated_and_data_texts(source):
    assert violations(source, "fine.py") == []
