"""`${NAME}` and `${NAME:-default}` substitution in config strings; `$${` is a literal `${`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{[^}]*")
_SYNTAX_HINT = "write ${NAME} or ${NAME:-default} (NAME is letters, digits and _); $${ is a literal ${"
_BODY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.DOTALL)


@dataclass(frozen=True)
class EnvProblem:
    """One reference that could not be substituted, and how to fix it."""

    message: str
    hint: str


class EnvError(ValueError):
    """A string referred to variables that are unset or written wrongly."""

    def __init__(self, problems: tuple[EnvProblem, ...]) -> None:
        super().__init__("; ".join(problem.message for problem in problems))
        self.problems = problems


def expand_env(text: str, env: Mapping[str, str]) -> str:
    """Replace every `${NAME}` / `${NAME:-default}` in `text`; EnvError lists what failed."""
    if "$" not in text:
        return text
    problems: list[EnvProblem] = []
    result = _TOKEN.sub(lambda match: _replace(match, env, problems), text)
    if problems:
        raise EnvError(tuple(problems))
    return result


def _replace(match: re.Match[str], env: Mapping[str, str], problems: list[EnvProblem]) -> str:
    """The replacement for one `$${`, `${...}` or unterminated `${`."""
    token = match.group(0)
    if token == "$${":
        return "${"
    body = match.group(1)
    if body is None:
        problems.append(EnvProblem(f"{token!r} has no closing '}}'", _SYNTAX_HINT))
        return token
    parsed = _BODY.fullmatch(body)
    if parsed is None:
        problems.append(EnvProblem(f"{token!r} is not a valid variable reference", _SYNTAX_HINT))
        return token
    name, default = parsed.group(1), parsed.group(2)
    value = env.get(name)
    if default is not None and not value:
        return default
    if value is None:
        problems.append(_unset(name))
        return token
    return value


def _unset(name: str) -> EnvProblem:
    """The problem for a variable that is not set and has no default."""
    return EnvProblem(
        message=f"environment variable {name} is not set",
        hint=f"set {name} or write ${{{name}:-default}}",
    )
