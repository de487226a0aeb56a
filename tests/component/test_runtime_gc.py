"""The runtime's garbage-collector settings: start-up objects frozen, young generation collected less often."""

from __future__ import annotations

import gc
from pathlib import Path

from tocsin.clock import FakeClock
from tocsin.runtime import GC_YOUNG_THRESHOLD, Runtime


async def test_start_raises_the_young_generation_threshold_and_keeps_the_others(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(f"storage: {{url: 'sqlite:///{tmp_path}/g.db'}}\nmonitors: []\n")
    before = gc.get_threshold()
    runtime = Runtime(tmp_path / "c.yaml", FakeClock())
    try:
        await runtime.start()
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() > 0  # start-up objects are out of the collector's view
    finally:
        await runtime.stop()
        gc.set_threshold(*before)
        gc.unfreeze()
