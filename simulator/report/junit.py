"""Comparisons as JUnit XML (the format CI systems show as test results): one test suite per
scenario, one test case per metric; a regression, a changed scenario number or a missing metric
is a ``<failure>``, a metric the baseline does not hold is ``<skipped>``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

from simulator.errors import InputError, Problem
from simulator.report.compare import Row


def _case(scenario: str, row: Row) -> str:
    spec = row.spec
    name = quoteattr(row.metric)
    classname = quoteattr(f"dcsim.compare.{scenario}")
    text = (f"{spec.label}: baseline {spec.show(row.baseline)}, current {spec.show(row.current)}"
            f" ({row.verdict}; {spec.better} is better, tolerance {spec.tolerance_text(row.rule.rel, row.rule.abs)})")
    head = f"    <testcase classname={classname} name={name} time=\"0\""
    if row.verdict == "new":
        return f"{head}>\n      <skipped message={quoteattr('not in the baseline: ' + text)}/>\n    </testcase>"
    if not row.ok:
        return (f"{head}>\n      <failure type={quoteattr(row.verdict)} message={quoteattr(text)}/>\n"
                f"    </testcase>")
    return f"{head}>\n      <system-out>{_escape(text)}</system-out>\n    </testcase>"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def junit_xml(results: list[tuple[str, list[Row]]]) -> str:
    """``results``: (scenario name, its rows) pairs -> one JUnit XML document."""
    suites = []
    for scenario, rows in results:
        failures = sum(not r.ok for r in rows)
        skipped = sum(r.verdict == "new" for r in rows)
        cases = "\n".join(_case(scenario, r) for r in rows)
        suites.append(f"  <testsuite name={quoteattr(scenario)} tests=\"{len(rows)}\" failures=\"{failures}\" "
                      f"errors=\"0\" skipped=\"{skipped}\" time=\"0\">\n{cases}\n  </testsuite>")
    tests = sum(len(rows) for _, rows in results)
    failures = sum(sum(not r.ok for r in rows) for _, rows in results)
    body = "\n".join(suites)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="dcsim compare" tests="{tests}" '
            f'failures="{failures}" errors="0">\n{body}\n</testsuites>\n')


def check_junit_path(path: Path) -> None:
    """Refuse a JUnit target that cannot be written, before comparing anything."""
    if path.is_dir():
        raise InputError([Problem("--junit", f"{path} is a folder; give a file name such as {path / 'compare.xml'}")])
    if not path.parent.is_dir():
        raise InputError([Problem("--junit", f"cannot write {path}: folder {path.parent} does not exist")])


def write_junit(path: Path, results: list[tuple[str, list[Row]]]) -> None:
    """Write the XML atomically (a CI job never reads half a file)."""
    check_junit_path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(junit_xml(results))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as err:
        raise InputError([Problem("--junit", f"cannot write {path}: {err.strerror or err}")]) from None
