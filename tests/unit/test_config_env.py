"""`${NAME}` / `${NAME:-default}` substitution in config strings."""

from __future__ import annotations

import pytest

from tocsin.config.env import EnvError, expand_env

ENV = {"HOST": "db.internal", "PORT": "5432", "EMPTY": ""}

EXPANDS = [
    # text without a dollar sign comes back untouched
    ("plain text", "plain text"),
    # a whole-string reference becomes the value
    ("${PORT}", "5432"),
    # references work anywhere inside a string, several times
    ("postgresql://${HOST}:${PORT}/tocsin", "postgresql://db.internal:5432/tocsin"),
    # a default is used when the variable is unset
    ("${MISSING:-fallback}", "fallback"),
    # ... and when it is set but empty, as in the shell
    ("${EMPTY:-fallback}", "fallback"),
    # a set variable wins over its default
    ("${HOST:-other}", "db.internal"),
    # an empty default is allowed
    ("x${MISSING:-}y", "xy"),
    # a default may contain colons and dashes (URLs)
    ("${MISSING:-http://a:1/b-c}", "http://a:1/b-c"),
    # a set-but-empty variable without a default is just empty
    ("[${EMPTY}]", "[]"),
    # $${ escapes a literal ${ and the rest is left alone
    ("$${HOST}", "${HOST}"),
    # an escape next to a real reference
    ("$${A}-${PORT}", "${A}-5432"),
    # a lone dollar sign is literal
    ("costs $5 or $HOST", "costs $5 or $HOST"),
]


@pytest.mark.parametrize(("text", "expected"), EXPANDS)
def test_expand(text: str, expected: str) -> None:
    assert expand_env(text, ENV) == expected


FAILS = [
    # an unset variable without a default names the variable and both fixes
    ("${TOKEN}", [("environment variable TOKEN is not set", "set TOKEN or write ${TOKEN:-default}")]),
    # every unset variable in one string is reported, not just the first
    ("${A}/${B}", [("environment variable A is not set", None), ("environment variable B is not set", None)]),
    # a reference without its closing brace
    ("https://${HOST", [("'${HOST' has no closing '}'", None)]),
    # a name with a space is not a reference
    ("${data dir}", [("'${data dir}' is not a valid variable reference", None)]),
    # shell's ${NAME-default} (without the colon) is not supported
    ("${HOST-x}", [("'${HOST-x}' is not a valid variable reference", None)]),
    # an empty name
    ("${}", [("'${}' is not a valid variable reference", None)]),
]


@pytest.mark.parametrize(("text", "problems"), FAILS)
def test_expand_errors(text: str, problems: list[tuple[str, str | None]]) -> None:
    with pytest.raises(EnvError) as caught:
        expand_env(text, ENV)
    assert [p.message for p in caught.value.problems] == [message for message, _ in problems]
    for problem, (_, hint) in zip(caught.value.problems, problems, strict=True):
        assert hint is None or problem.hint == hint
