"""SQLite WAL checkpoints on a thread of their own, so that no commit pays for one.

Why: in WAL mode SQLite copies the log back into the database file (and, with
synchronous=NORMAL, fsyncs it) inside whichever commit pushes the log past
`wal_autocheckpoint` pages, 1000 by default. A notification crosses four small commits,
so about one in seventy paid for a checkpoint: bench/alerts.py's POST -> webhook p99 was
5.0-5.7 ms with them and 2.1-2.9 ms without (bench/RESULTS.md, issue 4). Here a thread with
its own connection runs a PASSIVE checkpoint every `EVERY` seconds (it never waits for a lock
and never blocks a reader or the writer); every connection keeps a far larger
`wal_autocheckpoint` (`SAFETY_PAGES`) only as a backstop, should this thread fall behind.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger("tocsin.store")

EVERY = 1.0  # seconds between checkpoints: about as often as the 1000-page default under bench/checks.py
SAFETY_PAGES = 16_000  # a commit checkpoints itself only past this many log pages (64 MiB of 4 KiB pages)


class Checkpointer:
    """Runs `PRAGMA wal_checkpoint(PASSIVE)` on one SQLite file every `every` seconds until stopped."""

    def __init__(self, path: str, every: float = EVERY) -> None:
        self._path, self._every = path, every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0  # checkpoints done
        self.failures = 0  # attempts that failed
        self.last: tuple[int, int, int] | None = None  # (busy, log pages, pages checkpointed) of the last one

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is None:
            # daemon: a store that is never closed must not keep the process alive
            self._thread = threading.Thread(target=self._run, name="tocsin-sqlite-checkpoint", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for it (a checkpoint under way finishes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        failing = False  # logged once per run of failures, not every second
        try:
            while not self._stop.wait(self._every):
                try:
                    conn = conn or sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
                    row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as exc:  # the commits' own backstop still checkpoints; try again next time
                    self.failures += 1
                    if not failing:
                        log.warning("WAL checkpoint of %s failed, retrying every %gs: %s", self._path, self._every, exc)
                        failing = True
                    continue
                self.last = (int(row[0]), int(row[1]), int(row[2]))
                self.runs += 1
                if failing:
                    log.info("WAL checkpoints of %s work again after %d failures", self._path, self.failures)
                    failing = False
        finally:
            if conn is not None:
                conn.close()
