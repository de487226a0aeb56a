"""Component status and the page banner from monitor states and maintenance, from tables."""

from __future__ import annotations

import pytest

from tocsin.checks.result import MonitorStatus as M
from tocsin.statuspage.status import ComponentStatus as C
from tocsin.statuspage.status import Indicator as I
from tocsin.statuspage.status import MonitorView, component_status, indicator

UP, DOWN, DEG = MonitorView(M.UP), MonitorView(M.DOWN), MonitorView(M.DEGRADED)

COMPONENTS = [
    ([UP, UP], C.OPERATIONAL),  # everything up
    ([MonitorView(M.PENDING), MonitorView(M.PAUSED), MonitorView(None)], C.OPERATIONAL),  # no verdict does not alarm
    ([UP, DEG], C.DEGRADED),  # one degraded monitor degrades the component
    ([UP, DOWN], C.PARTIAL_OUTAGE),  # some down: partial
    ([DEG, DOWN], C.PARTIAL_OUTAGE),  # down outranks degraded
    ([DOWN, DOWN], C.MAJOR_OUTAGE),  # all down: major
    ([DOWN], C.MAJOR_OUTAGE),  # a single monitor down is the whole component
    ([MonitorView(M.DOWN, True)], C.MAINTENANCE),  # down inside maintenance is maintenance
    ([MonitorView(M.UP, True), UP], C.MAINTENANCE),  # maintenance shows while nothing else fails
    ([MonitorView(M.DOWN, True), DOWN], C.MAJOR_OUTAGE),  # failures outside maintenance still show
    ([MonitorView(M.DOWN, True), DEG], C.DEGRADED),  # ... judged only on the monitors outside it
    ([], C.OPERATIONAL),  # a component without monitors is not failing
]


@pytest.mark.parametrize(("monitors", "expected"), COMPONENTS)
def test_component_status(monitors: list[MonitorView], expected: C) -> None:
    assert component_status(monitors) is expected


BANNERS = [
    ([], I.NONE),  # an empty page is operational
    ([C.OPERATIONAL, C.OPERATIONAL], I.NONE),  # all good
    ([C.OPERATIONAL, C.DEGRADED], I.MINOR),  # degraded: minor
    ([C.DEGRADED, C.PARTIAL_OUTAGE], I.MAJOR),  # partial outage: major
    ([C.PARTIAL_OUTAGE, C.MAJOR_OUTAGE], I.CRITICAL),  # major outage: critical
    ([C.OPERATIONAL, C.MAINTENANCE], I.MAINTENANCE),  # maintenance when nothing fails
    ([C.MAINTENANCE, C.DEGRADED], I.MINOR),  # failures outrank maintenance
]


@pytest.mark.parametrize(("statuses", "expected"), BANNERS)
def test_indicator(statuses: list[C], expected: I) -> None:
    assert indicator(statuses) is expected
