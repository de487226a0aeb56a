"""`tocsin.alerting.alert.fingerprint` must equal the fingerprints a real Alertmanager reports.

Starts Debian's prometheus-alertmanager on port 0 (clustering off, storage in a temp dir),
posts seeded random alerts through `/api/v2/alerts` and reads them back.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tocsin.alerting import alert as alert_module
from tocsin.alerting.alert import fingerprint, fnv1a_64

BINARY = shutil.which("prometheus-alertmanager")
pytestmark = pytest.mark.skipif(BINARY is None, reason="Debian's prometheus-alertmanager is not installed")
# Letters from several scripts, symbols, an emoji, quotes, separators and a 0xff-looking char.
ALPHABET = "abcXYZ019_-.:/ =,\"'\\{}\nÿéßЖ中文ع🔥✓\t"


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a fresh Alertmanager; stopped after the module's tests."""
    assert BINARY is not None
    home = tmp_path_factory.mktemp("alertmanager")
    (home / "alertmanager.yml").write_text("route: {receiver: devnull}\nreceivers: [{name: devnull}]\n")
    args = [
        BINARY,
        f"--config.file={home / 'alertmanager.yml'}",
        f"--storage.path={home / 'data'}",
        "--web.listen-address=127.0.0.1:0",
        "--cluster.listen-address=",
    ]
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    try:
        yield f"http://{_bound_address(proc)}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _bound_address(proc: subprocess.Popen[str]) -> str:
    """Read the log until Alertmanager says where it listens, then keep draining it."""
    assert proc.stderr is not None
    for line in iter(proc.stderr.readline, ""):
        found = re.search(r'msg="Listening on" address=(\S+)', line)
        if found:
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return found.group(1)
    raise RuntimeError(f"alertmanager exited with {proc.wait()} before listening")


def _call(url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
    return json.loads(text) if text else None


def random_labels(rng: random.Random) -> dict[str, str]:
    """1-6 labels with valid names and non-empty values drawn from ALPHABET."""
    names = rng.sample(["alertname", "job", "instance", "a", "_b", "severity", "Zz9", "team"], rng.randint(1, 6))
    return {name: "".join(rng.choices(ALPHABET, k=rng.randint(1, 12))) for name in names}


def test_fingerprints_match_a_real_alertmanager(alertmanager: str) -> None:
    rng = random.Random(20240501)
    label_sets = [random_labels(rng) for _ in range(50)]
    label_sets.append({"alertname": "Ünïcødé ✓", "job": "中文"})  # explicit non-ASCII names' values
    _call(f"{alertmanager}/api/v2/alerts", [{"labels": labels} for labels in label_sets])
    reported = {_key(a["labels"]): a["fingerprint"] for a in _call(f"{alertmanager}/api/v2/alerts")}
    assert len(reported) == len({_key(labels) for labels in label_sets})
    assert {_key(labels): fingerprint(labels) for labels in label_sets} == reported


def test_alertmanager_drops_empty_labels_before_hashing(alertmanager: str) -> None:
    # Ingest must do the same: Alertmanager removes empty-valued labels from incoming alerts.
    _call(f"{alertmanager}/api/v2/alerts", [{"labels": {"alertname": "EmptyLabel", "gone": ""}}])
    alerts = _call(f"{alertmanager}/api/v2/alerts?filter=alertname%3D%22EmptyLabel%22")
    assert [a["labels"] for a in alerts] == [{"alertname": "EmptyLabel"}]
    assert alerts[0]["fingerprint"] == fingerprint({"alertname": "EmptyLabel"})


def _key(labels: dict[str, str]) -> frozenset[tuple[str, str]]:
    return frozenset(labels.items())


def test_fingerprint_format() -> None:
    assert fingerprint({}) == "cbf29ce484222325"  # FNV-1a 64 offset basis: nothing hashed
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint({"a": "b"}))


def _reference(labels: dict[str, str]) -> str:
    """FNV-1a 64 byte by byte over sorted names and values, each followed by 0xff."""
    data = b"".join(part.encode() + b"\xff" for pair in sorted(labels.items()) for part in pair)
    return f"{fnv1a_64(data):016x}"


def test_cached_pair_steps_equal_the_byte_by_byte_hash() -> None:
    # The per-pair transitions are cached by the state's low byte: repeated names and values
    # meet every low byte, and a cleared cache must not change a result.
    rng = random.Random(4)
    names = ["alertname", "job", "instance", "severity", "ÿ", ""]
    for i in range(3000):
        labels = {
            rng.choice(names) + "".join(rng.choices(ALPHABET, k=rng.randint(0, 2))): "".join(
                rng.choices(ALPHABET, k=rng.randint(0, 300 if i % 100 == 0 else 12))
            )
            for _ in range(rng.randint(0, 6))
        }
        assert fingerprint(labels) == _reference(labels), labels
        if i == 1500:
            alert_module._pairs.clear()


def test_batch_hashing_equals_the_byte_by_byte_hash() -> None:
    # A batch of new label sets is hashed with numpy, one byte column for all of them at once.
    rng = random.Random(9)
    batch = [
        {
            rng.choice(["alertname", "job", "instance", "ÿ", ""])
            + "".join(rng.choices(ALPHABET, k=rng.randint(0, 3))): (
                "".join(rng.choices(ALPHABET, k=rng.randint(0, 40)))
            )
            for _ in range(rng.randint(0, 5))
        }
        for _ in range(500)
    ]
    alert_module._known.clear()
    alert_module.prime_fingerprints(batch)
    assert len(alert_module._known) >= alert_module.VECTOR_MIN  # the batch way was taken
    assert [fingerprint(labels) for labels in batch] == [_reference(labels) for labels in batch]
    data = [bytes(rng.randrange(256) for _ in range(rng.randint(0, 70))) for _ in range(300)]
    assert alert_module.fnv1a_64_many(data) == [fnv1a_64(d) for d in data]
    assert alert_module.fnv1a_64_many([]) == []
