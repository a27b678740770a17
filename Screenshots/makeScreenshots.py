"""Render the README and extension-index screenshots from real runs on the shared data (`make screenshots`).

Each PNG is written by the product's own command,
``affine-inspector gui --offscreen --screenshot FILE ...``, on the real
scanner series in ../shared/data/dicom (not copied here); ``audit-report.png``
is the report of ``affine-inspector audit`` on that whole folder, opened in
headless Chromium (Testing/browser.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DICOM = os.path.join(os.path.dirname(ROOT), "shared", "data", "dicom")

SHOTS = {
    # file: (tab, window size, inputs)
    "panel.png": ("slices", "1000x1100", ["dcm_qa_ct_GE"]),
    "geometry.png": ("geometry", "1000x1100", ["dcm_qa_ct_GE"]),
    "findings.png": (
        "findings",
        "1000x900",
        [
            "tcia_kits_duplicate_positions",
            "dcm_qa_ct_GE",
            "dicom2nifti/hitachi_oblique",
            "dicom2nifti/ge_anatomical/001_ground_truth.nii.gz",
        ],
    ),
}


def main() -> int:
    if not os.path.isdir(DICOM):
        sys.stderr.write(f"shared data not found at {DICOM}\n")
        return 1
    environment = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "AffineInspector"))
    for name, (tab, size, inputs) in SHOTS.items():
        _removeOld(os.path.join(HERE, name))  # gui --screenshot never replaces a file: this script's own, removed
        command = [
            sys.executable,
            "-m",
            "AffineInspectorLib.cli",
            "gui",
            "--offscreen",
            "--tab",
            tab,
            "--size",
            size,
            "--screenshot",
            os.path.join(HERE, name),
        ] + [os.path.join(DICOM, path) for path in inputs]
        completed = subprocess.run(command, env=environment, capture_output=True, text=True)
        if completed.returncode != 0:
            sys.stderr.write(completed.stderr)
            return completed.returncode
        sys.stdout.write(completed.stdout)
    status = renderAlignShot(os.path.join(HERE, "align.png"))
    return status or auditReport(environment)


def _removeOld(path: str) -> None:
    """Remove this script's previous rendering (the command line refuses to write over a file)."""
    if os.path.isfile(path) and not os.path.islink(path):
        os.remove(path)


def renderAlignShot(path: str) -> int:
    """The Align tab on the tilted GE CT and dcm2niix's conversion of it (run here), compared in the window."""
    sys.path.insert(0, os.path.join(ROOT, "AffineInspector"))
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from AffineInspectorLib.ui.qtcompat import qt
    from AffineInspectorLib.ui.window import MainWindow

    dcm2niix = os.path.join(os.path.dirname(sys.executable), "dcm2niix")
    folder = tempfile.mkdtemp(prefix="align-shot-")
    try:
        series = os.path.join(DICOM, "dcm_qa_ct_GE")
        subprocess.run([dcm2niix, "-z", "y", "-f", "ge_ct", "-o", folder, series], check=True, capture_output=True)
        application = qt.QApplication.instance() or qt.QApplication(["screenshots"])
        main = MainWindow(reportError=lambda message, details: sys.stderr.write(f"{message}: {details}\n"))
        main.window.resize(1000, 1000)
        main.open([series])
        main.panel.refresh()
        main.panel.showTab("align")
        tab = main.panel.alignTab
        tab.setImagePath(os.path.join(folder, "ge_ct.nii.gz"))
        tab.compare()
        _removeOld(path)
        main.screenshot(path)
        main.close()
        application.processEvents()
    finally:
        shutil.rmtree(folder)
    sys.stdout.write(f"wrote {path}\n")
    return 0


def auditReport(environment: dict) -> int:
    """Audit the whole shared folder into a temporary folder and photograph the top of its report."""
    import tempfile

    sys.path.insert(0, os.path.join(ROOT, "Testing"))
    from browser import chromiumPage

    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "audit")
        command = [sys.executable, "-m", "AffineInspectorLib.cli", "audit", DICOM, "--out", out, "--workers", "2"]
        completed = subprocess.run(command, env=environment, capture_output=True, text=True)
        if completed.returncode != 0:
            sys.stderr.write(completed.stderr)
            return completed.returncode
        with chromiumPage(1400, 1150) as page:
            page.goto("file://" + os.path.join(out, "report.html"))
            page.screenshot(path=os.path.join(HERE, "audit-report.png"))
    sys.stdout.write("Wrote audit-report.png\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
