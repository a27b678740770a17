"""The audit's report.html in headless Chromium (Debian's chromium, driven by playwright; no browser download):
it renders offline, shows the series count, sorts worst first, filters by kind, and draws a series' plot."""

from __future__ import annotations

import json
import os

import pytest

from AffineInspectorLib.cli.main import main
from AffineInspectorLib.dicom import auditstore
from AffineInspectorLib.dicom.syntheticarchive import writeArchive


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    archive = writeArchive(str(tmp_path_factory.mktemp("archive")), series=12, seed=3)
    out = str(tmp_path_factory.mktemp("audit") / "out")
    assert main(["audit", archive.root, "--out", out, "--workers", "1"]) == 0
    return archive, out


def test_report_renders_offline_with_the_series_count(audited, page, tmp_path):
    archive, out = audited
    page.goto("file://" + os.path.join(out, auditstore.REPORT_FILE))
    assert page.inner_text("#series-count") == str(len(archive.series))
    rows = page.locator("#series tbody tr")
    assert rows.count() == len(archive.series)
    assert page.inner_text("#shown") == f"{len(archive.series)} of {len(archive.series)} series shown"
    worstFirst = [rows.nth(index).locator("td").first.inner_text() for index in range(rows.count())]
    order = {"unreadable": 0, "error": 1, "warning": 2, "info": 3, "ok": 4}
    assert worstFirst == sorted(worstFirst, key=order.__getitem__) and worstFirst[0] == "error"
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.externalRequests == [] and page.problems == []


def test_kind_link_filters_and_a_row_shows_its_plot(audited, page):
    archive, out = audited
    page.goto("file://" + os.path.join(out, auditstore.REPORT_FILE))
    tilted = [series for series in archive.series if "gantryTilt" in series.kinds]
    assert tilted
    page.click('a[data-kind="gantryTilt"]')
    rows = page.locator("#series tbody tr")
    assert rows.count() == len(tilted)
    assert {rows.nth(i).get_attribute("data-uid") for i in range(rows.count())} == {
        series.seriesInstanceUID for series in tilted
    }
    rows.first.click()
    uid = rows.first.get_attribute("data-uid")
    assert uid in page.inner_text("#detailTitle")
    record = next(
        json.loads(line) for line in open(os.path.join(out, auditstore.SERIES_FILE)) if uid in line.split(",")[0]
    )
    stepPlot = page.locator("#detailBody svg").first
    plotted = sum(step is not None for step in record["steps"])
    assert stepPlot.locator("circle").count() == plotted > 0
    flagged = {finding["slice"] for finding in record["findings"] if finding["slice"] is not None}
    assert stepPlot.locator('circle[fill="#b3261e"]').count() == sum(
        1 for index, step in enumerate(record["steps"]) if step is not None and index in flagged
    )
    assert page.externalRequests == [] and page.problems == []


def test_text_from_files_is_shown_as_text_not_markup(tmp_path, page):
    """A SeriesDescription holding markup stays text in the table and the detail (no script runs)."""
    archive = writeArchive(str(tmp_path / "archive"), series=1, junk=False)
    import pydicom

    for path in archive.series[0].files:
        dataset = pydicom.dcmread(path)
        dataset.SeriesDescription = '<img src=x onerror="window.hacked=1">'
        dataset.save_as(path)
    out = str(tmp_path / "out")
    assert main(["audit", archive.root, "--out", out, "--workers", "1"]) == 0
    page.goto("file://" + os.path.join(out, auditstore.REPORT_FILE))
    assert page.evaluate("window.hacked === undefined")
    assert '<img src=x onerror="window.hacked=1">' in page.inner_text("#series tbody")
    assert page.locator("#series img, #detail img").count() == 0
