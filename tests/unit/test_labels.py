"""Matchers: Alertmanager's classic syntax, anchored RE2 regexes, missing label = empty."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.labels import (
    Matcher,
    MatcherError,
    compile_anchored,
    format_matchers,
    matches,
    parse_matcher,
    parse_matchers,
    sort_matchers,
)

PARSE_ONE = [
    ('foo="bar"', ("foo", "=", "bar")),  # the canonical quoted form
    ("foo=bar", ("foo", "=", "bar")),  # values may be unquoted
    ('foo!="bar"', ("foo", "!=", "bar")),  # negative equality
    ('foo=~"a|b"', ("foo", "=~", "a|b")),  # `=~` is read before `=`, the `~` is not part of the value
    ("foo!~a.*", ("foo", "!~", "a.*")),  # negative regex, unquoted
    ("  foo  =  bar baz  ", ("foo", "=", "bar baz")),  # whitespace around tokens is trimmed, inside kept
    ('foo=" bar "', ("foo", "=", " bar ")),  # quoted whitespace is kept
    ("foo=", ("foo", "=", "")),  # an empty unquoted value
    ('foo=""', ("foo", "=", "")),  # an empty quoted value
    ('foo="a\\"b"', ("foo", "=", 'a"b')),  # \" is a quote
    ('foo="a\\\\b"', ("foo", "=", "a\\b")),  # \\ is one backslash
    ('foo="a\\nb"', ("foo", "=", "a\nb")),  # \n is a newline
    ('foo="a\\qb"', ("foo", "=", "a\\qb")),  # a spurious escape keeps its backslash
    ("foo=a\\", ("foo", "=", "a\\")),  # a trailing lone backslash is literal
    ('foo="a,b"', ("foo", "=", "a,b")),  # commas are fine in a single matcher
    ("city=Zürich", ("city", "=", "Zürich")),  # UTF-8 values
    ('emoji="🔥 ✓"', ("emoji", "=", "🔥 ✓")),  # astral-plane characters
    ("a:b=c", ("a:b", "=", "c")),  # the classic grammar allows colons in names
    ("_x=1", ("_x", "=", "1")),  # names may start with an underscore
]


@pytest.mark.parametrize(("text", "expected"), PARSE_ONE, ids=[t for t, _ in PARSE_ONE])
def test_parse_matcher(text: str, expected: tuple[str, str, str]) -> None:
    m = parse_matcher(text)
    assert (m.name, m.op, m.value) == expected


PARSE_MANY = [
    ('{foo = "bar", dings != "bums", }', ["foo=bar", "dings!=bums"]),  # braces, spaces, trailing comma
    ("foo=bar,dings!=bums", ["foo=bar", "dings!=bums"]),  # no braces, no spaces
    ('{quote="She said: \\"Hi, ladies!\\""}', ['quote=She said: "Hi, ladies!"']),  # commas in quotes
    ('statuscode=~"5.."', ["statuscode=~5.."]),  # a single regex matcher
    ("", []),  # nothing at all is no matchers
    ("{}", []),  # empty braces are no matchers
    (' {a="b"} ', ["a=b"]),  # surrounding whitespace (tocsin is slightly more tolerant here)
]


@pytest.mark.parametrize(("text", "expected"), PARSE_MANY, ids=[t for t, _ in PARSE_MANY])
def test_parse_matchers(text: str, expected: list[str]) -> None:
    assert [f"{m.name}{m.op}{m.value}" for m in parse_matchers(text)] == expected


BAD = [
    ('foo="bar', "missing its closing double quote at character 9"),  # unterminated quote
    ('foo=b"ar', 'unescaped double quote in the value (write \\") at character 6'),  # stray quote
    ('foo="b"ar"', "unescaped double quote"),  # a quote in the middle of a quoted value
    ("0foo=bar", "expected a label name"),  # names cannot start with a digit
    ("foo bar", "expected one of = != =~ !~ after the label name at character 5"),  # no operator
    ("foo==bar", None),  # accepted by Alertmanager as value "=bar"; checked below
    ("a=b,,c=d", "matcher 2 (from character 5)"),  # an empty matcher between commas
    ('foo=~"("', "invalid regular expression '('"),  # regex errors name the pattern
    ('foo=~"(?=x)"', "invalid or unsupported Perl syntax"),  # RE2 has no lookahead
    ('foo=~"(a)\\\\1"', "backreference"),  # nor backreferences
    ('foo=~"\\\\pL"', "Unicode classes"),  # \p{...} classes are not translated
    ('foo=~"(?U)a+"', "ungreedy"),  # the ungreedy flag has no Python equivalent
]


@pytest.mark.parametrize(("text", "message"), [b for b in BAD if b[1]], ids=[b[0] for b in BAD if b[1]])
def test_parse_errors_say_what_and_where(text: str, message: str) -> None:
    with pytest.raises(MatcherError) as caught:
        parse_matchers(text)
    assert message in str(caught.value)


def test_double_equals_is_a_value() -> None:
    assert parse_matcher("foo==bar").value == "=bar"


MATCH = [
    (Matcher("a", "=", "x"), {"a": "x"}, True),  # equality
    (Matcher("a", "=", "x"), {"a": "xy"}, False),  # equality is exact
    (Matcher("a", "=", ""), {}, True),  # a missing label equals ""
    (Matcher("a", "!=", ""), {}, False),  # so `a!=""` means "a is set"
    (Matcher("a", "!=", "x"), {}, True),  # and a missing label is not "x"
    (Matcher("a", "=~", "x|y"), {"a": "y"}, True),  # alternation
    (Matcher("a", "=~", "x"), {"a": "xx"}, False),  # regexes are anchored at the end
    (Matcher("a", "=~", "x"), {"a": "ax"}, False),  # and at the start
    (Matcher("a", "=~", "a|b"), {"a": "ab"}, False),  # anchoring wraps the whole alternation
    (Matcher("a", "=~", "x$"), {"a": "x\n"}, False),  # Go's `$` does not match before a final newline
    (Matcher("a", "=~", ".*"), {}, True),  # `.*` matches the empty (missing) label
    (Matcher("a", "!~", ".+"), {}, True),  # `!~ .+` means "a is empty or missing"
    (Matcher("a", "=~", "\\d+"), {"a": "١٢"}, False),  # RE2's \d is ASCII only (Arabic-Indic digits fail)
    (Matcher("a", "=~", "\\w+"), {"a": "é"}, False),  # RE2's \w is ASCII only
    (Matcher("a", "=~", "[\\d.]+"), {"a": "1.2"}, True),  # \d inside a class
    (Matcher("a", "=~", "\\s"), {"a": "\v"}, False),  # RE2's \s excludes vertical tab
    (Matcher("a", "=~", "[[:alpha:]]+"), {"a": "abc"}, True),  # POSIX classes
    (Matcher("a", "=~", "[[:digit:]x]+"), {"a": "1x2"}, True),  # POSIX class mixed with other items
    (Matcher("a", "=~", "(?i)crit"), {"a": "CRIT"}, True),  # leading flags
    (Matcher("a", "=~", "x(?i)y|z"), {"a": "Z"}, True),  # mid-pattern flags apply to the rest of the group
    (Matcher("a", "=~", "x(?i)y|z"), {"a": "XY"}, False),  # but not before them
    (Matcher("a", "=~", "(?i:a)b"), {"a": "Ab"}, True),  # scoped flags
    (Matcher("a", "=~", "(?s:.)"), {"a": "\n"}, True),  # (?s) lets . match newline
    (Matcher("a", "=~", "."), {"a": "\n"}, False),  # . does not match newline by default
    (Matcher("a", "=~", "a{,2}"), {"a": "a{,2}"}, True),  # `{,n}` is a literal in RE2, not a repeat
    (Matcher("a", "=~", "a{2}"), {"a": "aa"}, True),  # real repeats still work
    (Matcher("a", "=~", "\\Q.*\\E"), {"a": ".*"}, True),  # \Q...\E quotes literally
    (Matcher("a", "=~", "x\\z"), {"a": "x"}, True),  # \z is end of text
    (Matcher("a", "=~", "[a&&b]"), {"a": "&"}, True),  # `&&` is literal inside an RE2 class
    (Matcher("a", "=~", "[]a]"), {"a": "]"}, True),  # a leading ] is literal in a class
    (Matcher("a", "=~", "(?P<n>x)"), {"a": "x"}, True),  # named groups
    (Matcher("a", "=~", "Zür.ch"), {"a": "Zürich"}, True),  # UTF-8 in regexes
]


@pytest.mark.parametrize(("matcher", "labels", "expected"), MATCH, ids=[f"{m} {labels}" for m, labels, _ in MATCH])
def test_matches(matcher: Matcher, labels: dict[str, str], expected: bool) -> None:
    assert matcher.matches(labels) is expected


def test_matches_needs_every_matcher() -> None:
    ms = parse_matchers('a="1", b=~"x|y"')
    assert matches(ms, {"a": "1", "b": "y"})  # both hold
    assert not matches(ms, {"a": "1", "b": "z"})  # one fails
    assert matches([], {"anything": "at all"})  # no matchers match everything


def test_string_form_and_order_follow_alertmanager() -> None:
    ms = sort_matchers(parse_matchers('{z="1", a=~"b", a="b", a!="b", q="x\\"y\\\\z\\n"}'))
    # sorted by name, then value, then operator (= != =~ !~)
    assert format_matchers(ms) == '{a="b",a!="b",a=~"b",q="x\\"y\\\\z\\n",z="1"}'


def test_regex_compiled_once_and_shared() -> None:
    assert compile_anchored("x|y") is compile_anchored("x|y")


def test_constructor_rejects_bad_names_and_ops() -> None:
    with pytest.raises(MatcherError):
        Matcher("1a", "=", "x")
    with pytest.raises(MatcherError):
        Matcher("a", "==", "x")  # type: ignore[arg-type]


names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,10}", fullmatch=True)
values = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
ops = st.sampled_from(["=", "!=", "=~", "!~"])


def re2_literal(text: str) -> str:
    """Escape `text` with only the escapes RE2 accepts (punctuation)."""
    return "".join("\\" + c if c in "\\.+*?()|[]{}^$" else c for c in text)


@given(names, st.sampled_from(["=", "!="]), values)
def test_printing_then_parsing_round_trips(name: str, op: str, value: str) -> None:
    m = Matcher(name, op, value)  # type: ignore[arg-type]
    assert parse_matcher(str(m)) == m
    assert parse_matchers(format_matchers([m, m])) == [m, m]


@given(names, values, values)
def test_literal_regex_is_equality(name: str, value: str, other: str) -> None:
    regex = Matcher(name, "=~", re2_literal(value))
    assert regex.matches({name: other}) == (other == value)


@given(names, ops, values, st.dictionaries(names, values, max_size=4))
def test_negative_operators_are_complements(name: str, op: str, value: str, labels: dict[str, str]) -> None:
    pattern = re2_literal(value) if op.endswith("~") else value
    positive = Matcher(name, "=~" if op.endswith("~") else "=", pattern)
    negative = Matcher(name, "!~" if op.endswith("~") else "!=", pattern)
    assert positive.matches(labels) != negative.matches(labels)
