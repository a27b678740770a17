"""Pending: the fixed-seed fuzz smoke run finds nothing that breaks the exit contract.

Not collected by ``make test`` yet (pytest collects ``test_*.py``): today's
code fails it (see the figures in ``Testing/fuzz/README.md``). Once the
fixes land, the integrator renames it to ``Testing/test_fuzz_smoke.py`` (or
``Testing/fuzz/test_fuzz_smoke.py``). Run it now with
``.venv/bin/python -m pytest Testing/fuzz/smoke_test_pending.py`` or
``make fuzz-smoke`` (same run, summary table instead of an assertion).

200 cases from seed ``run.SMOKE_SEED``, 2 processes, 5 s timeout (20 s for
slicer-core commands), a 64 MiB zero-filled file.
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
