"""The `status_pages:` section: bad configs paired with their expected error text."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tocsin.config.models import TocsinConfig

MONITOR = {"name": "api", "kind": "heartbeat"}
BAD = [
    ([{"slug": "a", "title": "A"}, {"slug": "a", "title": "B"}], "status page slug 'a' is used twice"),
    ([{"slug": "a", "title": "A", "components": [{"name": "x", "monitors": ["nope"]}]}], "no monitor is called 'nope'"),
    ([{"slug": "Bad Slug", "title": "A"}], "String should match pattern"),
    ([{"slug": "a", "title": "A", "colour": "x"}], "Extra inputs are not permitted"),
    ([{"slug": "a", "title": "A", "theme": "x"}], "Input should be 'auto', 'light' or 'dark'"),
    ([{"slug": "a", "title": "A", "components": [{"name": "x"}, {"name": "x"}]}], "component 'x' is on the page twice"),
    (
        [
            {"slug": "a", "title": "A", "custom_domain": "s.example"},
            {"slug": "b", "title": "B", "custom_domain": "S.example"},
        ],
        "custom domain 's.example' is used by two pages",
    ),
    ([{"slug": "a", "title": "A", "custom_domain": "https://s.example/"}], "String should match pattern"),
]


@pytest.mark.parametrize(("pages", "error"), BAD)
def test_bad_status_pages(pages: list[dict[str, Any]], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        TocsinConfig.model_validate({"monitors": [MONITOR], "status_pages": pages})


def test_good_status_page() -> None:
    page = {"slug": "acme", "title": "Acme", "components": [{"name": "API", "group": "Core", "monitors": ["api"]}]}
    config = TocsinConfig.model_validate({"monitors": [MONITOR], "status_pages": [page]})
    assert config.status_pages[0].components[0].monitors == ["api"]


def test_a_component_without_monitors_is_set_by_hand() -> None:
    page = {"slug": "acme", "title": "Acme", "theme": "dark", "components": [{"name": "Support desk"}]}
    config = TocsinConfig.model_validate({"monitors": [MONITOR], "status_pages": [page]})
    assert config.status_pages[0].components[0].monitors == []
    assert config.status_pages[0].theme == "dark"
