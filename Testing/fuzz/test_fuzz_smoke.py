"""The fixed-seed fuzz smoke run finds nothing that breaks the exit contract (part of ``make test``).

200 cases from seed ``run.SMOKE_SEED``, 2 processes, 5 s timeout (20 s for slicer-core commands), a 64 MiB
zero-filled file: no crash, hang, exit 70, non-strict JSON, changed input, replaced or followed output, silent
skip or all-zero output, and the fast reader agrees with the pydicom path on every case. ``make fuzz-smoke``
runs the same with the summary table instead of an assertion; ``make fuzz SEED=... N=...`` runs others.
"""

from __future__ import annotations

import io

import classify
import run


def test_fuzz_smoke_finds_nothing(tmp_path):
    config = run.parseArguments(["--smoke", "--work", str(tmp_path / "work")])
    report = run.run(config)
    summary = report["summary"]
    failing = {name: entry for name, entry in summary["classes"].items() if name not in classify.INFORMATIONAL}
    table = io.StringIO()
    run.printSummary(summary, table)
    assert not failing, f"the smoke run found contract violations (report: {config.report}):\n{table.getvalue()}"
    assert not report["referencesChanged"], report["referencesChanged"]
