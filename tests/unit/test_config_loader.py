"""The config loader: YAML files in, a validated config with locations or exact error text out."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from tocsin.config.errors import ConfigError, ConfigErrors
from tocsin.config.loader import LoadedConfig, load_config, validate_file
from tocsin.config.models import HttpMonitor, TcpMonitor

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "config"
BAD_ENV = {"PORT": "8080", "EMPTY": ""}
GOOD_ENV = {"PORT": "8080", "API_TOKEN": "sekrit"}


def _bad_fixtures() -> list[str]:
    return sorted(path.name for path in (FIXTURES / "bad").glob("*.yaml"))


@pytest.mark.parametrize("name", _bad_fixtures())
def test_bad_fixture_gives_its_expected_errors(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES / "bad")  # error lines start with paths relative to the fixture
    expected = Path(name).with_suffix(".expected.txt").read_text()
    if "invalid YAML" in expected and not hasattr(yaml, "CSafeLoader"):
        pytest.skip("syntax error texts are libyaml's; PyYAML's pure-Python parser words them differently")
    with pytest.raises(ConfigErrors) as caught:
        load_config(name, BAD_ENV)
    assert caught.value.format() + "\n" == expected


def test_every_bad_fixture_is_paired_with_expected_text() -> None:
    bad = FIXTURES / "bad"
    fixtures = {path.name.removesuffix(".yaml") for path in bad.glob("*.yaml")}
    expected = {path.name.removesuffix(".expected.txt") for path in bad.glob("*.expected.txt")}
    assert fixtures == expected


def _load_good(name: str, monkeypatch: pytest.MonkeyPatch) -> LoadedConfig:
    monkeypatch.chdir(FIXTURES / "good")
    return load_config(name, GOOD_ENV)


LOCATIONS = [
    # a monitor is located at its list item's line
    ("minimal.yaml", ("monitors", 0), "minimal.yaml:3"),
    # a key is located at its own line
    ("full.yaml", ("server", "listen"), "full.yaml:3"),
    # nested keys inside flow mappings keep their line
    ("full.yaml", ("server", "tls", "key_file"), "full.yaml:6"),
    # list items inside a monitor
    ("full.yaml", ("monitors", 0, "conditions", 1, "severity"), "full.yaml:24"),
    # included monitors are located in the included file, at their merged index
    ("include.yaml", ("monitors", 2, "port"), "include.d/a.yaml:9"),
    # a nested include's monitors come after the including file's own
    ("include.yaml", ("monitors", 4), "include.more/nested.yaml:2"),
    # a section contributed by an included file
    ("include.yaml", ("storage", "raw_retention"), "include.more/storage.yaml:2"),
    # a key written explicitly next to a << merge keeps its own line
    ("anchors.yaml", ("monitors", 1, "interval"), "anchors.yaml:13"),
]


@pytest.mark.parametrize(("name", "path", "where"), LOCATIONS)
def test_locations(name: str, path: tuple[str | int, ...], where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = _load_good(name, monkeypatch)
    assert str(loaded.location_of(path)) == where


MONITORS = [
    # one file, one monitor
    ("minimal.yaml", ["api"]),
    # every kind
    ("full.yaml", ["api", "cache", "dns", "cert", "backup"]),
    # root monitors first, then includes in sorted glob order, nested includes depth first
    ("include.yaml", ["root", "a1", "a2", "b1", "nested"]),
    # monitors built from a << merge of an x- anchor
    ("anchors.yaml", ["a", "b", "escaped"]),
]


@pytest.mark.parametrize(("name", "names"), MONITORS)
def test_good_fixture_loads(name: str, names: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = _load_good(name, monkeypatch)
    assert [monitor.name for monitor in loaded.config.monitors] == names
    assert validate_file(name, GOOD_ENV) == []


def test_env_feeds_typed_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    config = _load_good("full.yaml", monkeypatch).config
    api, cache = config.monitors[0], config.monitors[1]
    assert isinstance(api, HttpMonitor)
    assert isinstance(cache, TcpMonitor)
    assert config.server.listen == "0.0.0.0:8080"  # ${PORT} inside a string
    assert config.server.external_url == "https://ops.example.com"  # ${X:-default}
    assert api.headers == {"Authorization": "Bearer sekrit"}
    assert cache.port == 6379  # "${CACHE_PORT:-6379}" coerced to int


def test_port_from_env_is_an_int(tmp_path: Path) -> None:
    path = tmp_path / "tocsin.yaml"
    path.write_text("monitors:\n  - {name: db, kind: tcp, host: db, port: '${PORT}'}\n")
    monitor = load_config(path, {"PORT": "5432"}).config.monitors[0]
    assert isinstance(monitor, TcpMonitor)
    assert monitor.port == 5432


def test_env_defaults_to_the_process_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOCSIN_TEST_LISTEN", "127.0.0.1:9999")
    path = tmp_path / "tocsin.yaml"
    path.write_text("server: {listen: '${TOCSIN_TEST_LISTEN}'}\n")
    assert load_config(path).config.server.listen == "127.0.0.1:9999"


def test_anchors_merge_and_escape(monkeypatch: pytest.MonkeyPatch) -> None:
    monitors = _load_good("anchors.yaml", monkeypatch).config.monitors
    assert [m.interval.total_seconds() for m in monitors] == [15, 60, 60]  # explicit beats <<
    assert monitors[0].labels == {"team": "core"}
    assert isinstance(monitors[2], HttpMonitor)
    assert monitors[2].url.endswith("/${literal}")


def test_files_lists_every_file_read(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = _load_good("include.yaml", monkeypatch)
    assert [str(file) for file in loaded.files] == [
        "include.yaml",
        "include.d/a.yaml",
        "include.d/b.yaml",
        "include.more/nested.yaml",
        "include.more/storage.yaml",
    ]


def test_monitor_location(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = _load_good("include.yaml", monkeypatch)
    assert loaded.monitor_location("b1") == "include.d/b.yaml:3"
    assert loaded.monitor_location("nope") is None
    assert loaded.location_of(("nope",)) is None


def test_include_may_be_a_single_string(tmp_path: Path) -> None:
    (tmp_path / "more.yaml").write_text("monitors: [{name: b, kind: heartbeat}]\n")
    (tmp_path / "tocsin.yaml").write_text("include: more.yaml\nmonitors: [{name: a, kind: heartbeat}]\n")
    loaded = load_config(tmp_path / "tocsin.yaml", {})
    assert [m.name for m in loaded.config.monitors] == ["a", "b"]


def test_empty_file_is_all_defaults(tmp_path: Path) -> None:
    path = tmp_path / "tocsin.yaml"
    path.write_text("# nothing yet\n")
    assert load_config(path, {}).config.monitors == []


MISSING = [
    # a missing root file says so, with no line
    ("nope.yaml", "nope.yaml: the config file does not exist"),
    # a directory is not a config file
    (".", ".: the config file is a directory, not a file"),
]


@pytest.mark.parametrize(("name", "first_line"), MISSING)
def test_unreadable_root_file(name: str, first_line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    errors = validate_file(name, {})
    assert [error.format().splitlines()[0] for error in errors] == [first_line]


FORMATS = [
    # the full form: file, line, key path, message and an indented hint
    (
        ConfigError("bad", Path("a.yaml"), 3, None, "monitors[api].url", "fix it"),
        "a.yaml:3: monitors[api].url: bad\n  hint: fix it",
    ),
    # YAML syntax errors carry a column
    (ConfigError("invalid YAML: x", Path("a.yaml"), 3, 7), "a.yaml:3:7: invalid YAML: x"),
    # no key path (top level)
    (ConfigError("not a mapping", Path("a.yaml"), 1), "a.yaml:1: not a mapping"),
    # no line (file-level problems)
    (ConfigError("does not exist", Path("a.yaml")), "a.yaml: does not exist"),
    # nothing known but the message
    (ConfigError("broken"), "broken"),
]


@pytest.mark.parametrize(("error", "text"), FORMATS)
def test_error_format(error: ConfigError, text: str) -> None:
    assert error.format() == text


def test_config_errors_hold_every_error() -> None:
    first, second = ConfigError("one", Path("a.yaml"), 1), ConfigError("two", Path("a.yaml"), 2)
    errors = ConfigErrors(first, second)
    assert errors.errors == (first, second)
    assert str(errors) == errors.format() == "a.yaml:1: one\na.yaml:2: two"


def test_ten_thousand_monitors_load_fast(tmp_path: Path) -> None:
    monitor = (
        "  - name: m{i}\n    kind: http\n    url: https://svc{i}.example.com/healthz\n"
        "    interval: 30s\n    timeout: 10s\n"
        '    conditions: ["[STATUS] == 200", "[RESPONSE_TIME] < 500"]\n'
        "    labels: {{service: svc{i}, team: core}}\n"
        '    headers: {{Authorization: "Bearer ${{TOKEN:-x}}"}}\n'
    )
    path = tmp_path / "big.yaml"
    path.write_text("monitors:\n" + "".join(monitor.format(i=i) for i in range(10_000)))
    started = time.process_time()  # CPU, not wall time: other processes on a shared CI machine do not count
    loaded = load_config(path, {})
    elapsed = time.process_time() - started
    assert len(loaded.config.monitors) == 10_000
    assert loaded.monitor_location("m9999") == f"{path}:{2 + 8 * 9999}"
    # ~0.7 s of CPU measured: the bound catches a quadratic step (minutes), not a slower machine
    assert elapsed < 5.0, f"10k monitors took {elapsed:.2f}s of CPU"
