"""``tr``: the user-visible strings of the ui layer, translated inside Slicer, themselves elsewhere.

No Qt and no ``slicer`` import here, so that the Qt-free modules (:mod:`.paneldata`, :mod:`.analyses`,
:mod:`.window` at import time) can translate too; :mod:`.qtcompat` re-exports :func:`tr`.

Rules, as Slicer's (checked by ``Testing/test_i18n.py``): ``_()`` takes one string literal (Slicer's
extraction reads it from the source), placeholders are named (``_("{count} files").format(count=n)``) and
filled after translation; proper names, numbers, file paths and the findings of the geometry and DICOM
layers (data shared with the command line and JSON) are not translated.
"""

from __future__ import annotations

import re
import sys

_PLACEHOLDER = re.compile(r"(?<!\{)\{([^\{\}]+)\}(?!\})")  # slicer.i18n.tr's findBracedStrings


def tr(text: str) -> str:
    """Translate a user-visible string, as ``slicer.i18n.tr`` does inside Slicer; the text itself elsewhere.

    Used as ``_`` (``from .translation import tr as _``). Inside Slicer (a ``slicer`` module with an
    application already imported: nothing is imported here to find out) the translation context is the
    calling file's, as ``slicer.i18n.tr`` computes it (``ui.panel`` for ``ui/panel.py``), so that strings
    extracted from that file by Qt's lupdate find their translations; a translation whose
    ``{placeholders}`` differ from the text's is ignored, as Slicer does.
    """
    slicer = sys.modules.get("slicer")
    if getattr(slicer, "app", None) is None:
        return text
    from slicer import i18n

    caller = sys._getframe(1)
    translated = str(i18n.translate(i18n.getContext(caller.f_code.co_filename), text))
    if set(_PLACEHOLDER.findall(text)) != set(_PLACEHOLDER.findall(translated)):
        return text
    return translated
