"""`tocsin routes test` answers exactly like `amtool config routes test` on the same tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROUTES = {
    "route": {
        "receiver": "default",
        "group_by": ["alertname"],
        "routes": [
            {"matchers": ['service="db"'], "receiver": "dba", "continue": True},
            {"matchers": ['severity=~"critical|page"'], "receiver": "pager"},
            {
                "matchers": ['team="web"'],
                "receiver": "web",
                "routes": [{"matchers": ['env!="prod"'], "receiver": "web-dev"}],
            },
        ],
    },
    "receivers": [{"name": n} for n in ("default", "dba", "pager", "web", "web-dev")],
}
CASES = [
    ["alertname=X"],
    ["service=db", "severity=critical"],
    ["service=db"],
    ["team=web", "env=prod"],
    ["team=web", "env=staging"],
    ["severity=page", "team=web"],
]


@pytest.mark.parametrize("labels", CASES)
def test_routes_test_matches_amtool(tmp_path: Path, labels: list[str]) -> None:
    amtool = shutil.which("amtool")
    assert amtool, "amtool (Debian prometheus-alertmanager) is required"
    am_file = tmp_path / "alertmanager.yml"
    am_file.write_text(yaml.safe_dump(ROUTES))
    ours = tmp_path / "tocsin.yaml"
    ours.write_text(yaml.safe_dump({"alerting": ROUTES}))
    theirs = subprocess.run(
        [amtool, "config", "routes", "test", f"--config.file={am_file}", *labels],
        capture_output=True,
        text=True,
        check=True,
        timeout=20,
    ).stdout.strip()
    mine = subprocess.run(
        [sys.executable, "-m", "tocsin", "routes", "test", "--config", str(ours), *labels],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    assert mine == theirs


def test_routes_show_and_bad_labels(tmp_path: Path) -> None:
    ours = tmp_path / "tocsin.yaml"
    ours.write_text(yaml.safe_dump({"alerting": ROUTES}))
    shown = subprocess.run(
        [sys.executable, "-m", "tocsin", "routes", "show", "--config", str(ours)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert '  {service="db"}  receiver: dba  group_by: [alertname] continue' in shown
    bad = subprocess.run(
        [sys.executable, "-m", "tocsin", "routes", "test", "--config", str(ours), "env=~prod"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert bad.returncode == 2
    assert "use name=value" in bad.stderr
