"""The condition language: what each condition concludes from an observation, and parse errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tocsin.checks.conditions import (
    ConditionError,
    compile_conditions,
    compiled_regex,
    evaluate_all,
    parse_condition,
)
from tocsin.checks.result import Observation
from tocsin.config.models import ConditionSpec

NOW = datetime(2026, 1, 1, tzinfo=UTC)
JSON = b'{"status": "UP", "items": [{"ok": true}, {"ok": false}], "data": {"name": "bar"}, "n": 1.0, "e": null}'


def obs(**facts: Any) -> Observation:
    """A healthy-looking http observation, with `facts` overriding."""
    base: dict[str, Any] = {
        "connected": True,
        "status": 200,
        "latency_ms": 120.0,
        "body": JSON,
        "headers": {"content-type": "application/json; charset=utf-8"},
        "ip": "127.0.0.1",
        "certificate_expires_at": NOW + timedelta(days=10),
    }
    return Observation(**(base | facts))


# (condition, observation, None when it holds else the failure's `actual`)
CASES: list[tuple[str, Observation, str | None]] = [
    # numbers compare as numbers
    ("[STATUS] == 200", obs(), None),
    ("[STATUS] == 200", obs(status=503), "503"),
    ("[STATUS] < 500", obs(status=404), None),
    ("[STATUS] < 500", obs(status=502), "502"),
    ("[STATUS] <= 299", obs(status=299), None),
    ("[STATUS] >= 200", obs(status=200), None),
    ("[STATUS] != 500", obs(status=500), "500"),
    # any() is "equal to one of"; != any() is "none of"
    ("[STATUS] == any(200, 429)", obs(status=429), None),
    ("[STATUS] == any(200, 429)", obs(status=500), "500"),
    ("[STATUS] != any(500, 503)", obs(status=200), None),
    # the quick path for `[STATUS] ==` is taken only for a status it accepts, and only for STATUS
    ("[STATUS] == 200", obs(status=None), "no HTTP status"),
    ("[BODY].code == 200", obs(status=200, body=b'{"code": 500}'), "500"),
    # pat() works on numbers too, as text
    ("[STATUS] == pat(2*)", obs(status=204), None),
    # response time is milliseconds; a duration on the right is converted
    ("[RESPONSE_TIME] < 300", obs(latency_ms=120.0), None),
    ("[RESPONSE_TIME] < 300", obs(latency_ms=301.5), "301.5ms"),
    ("[RESPONSE_TIME] < 1s", obs(latency_ms=999.0), None),
    # JSON paths: keys, indexes, nesting
    ("[BODY].status == UP", obs(), None),
    ("[BODY].status == DOWN", obs(), "UP"),
    ("[BODY].items[0].ok == true", obs(), None),
    ("[BODY].items[1].ok == true", obs(), "false"),
    ("[BODY].data.name != foo", obs(), None),
    # a JSON number 1.0 equals the literal 1 (numeric when both sides are numbers)
    ("[BODY].n == 1", obs(), None),
    ("[BODY].n > 0.5", obs(), None),
    # JSON null reads as null
    ("[BODY].e == null", obs(), None),
    # a path that is not there fails, saying where it stopped
    ("[BODY].data.missing == x", obs(), "no value at [BODY].data.missing"),
    ("[BODY].items[5].ok == true", obs(), "no value at [BODY].items[5]"),
    # a JSON path on a body that is not JSON fails with a clear actual
    ("[BODY].status == UP", obs(body=b"<html>down</html>"), "body is not JSON"),
    ("[BODY].status != DOWN", obs(body=b"<html>down</html>"), "body is not JSON"),
    # an absent body is not an empty one
    ("[BODY] == ok", obs(body=None), "no body"),
    # the whole body compares stripped of surrounding whitespace
    ("[BODY] == OK", obs(body=b"OK\n"), None),
    # glob: * is any text (newlines included), ? one character, others literal
    ("[BODY] == pat(*ready*)", obs(body=b"service is\nready now"), None),
    ("[BODY] == pat(*ready*)", obs(body=b"starting"), "starting"),
    ("[BODY] == pat(v?.[0-9])", obs(body=b"v1.[0-9]"), None),
    ("[BODY] != pat(*error*)", obs(body=b"all good"), None),
    # pat() may contain spaces and operator characters
    ("[BODY] == pat(*<h1>a < b</h1>*)", obs(body=b"<p><h1>a < b</h1>"), None),
    ("[BODY].status == any(STARTING, UP)", obs(), None),
    # len() of a list, a string, the raw body
    ("len([BODY].items) > 0", obs(), None),
    ("len([BODY].items) == 3", obs(), "2"),
    ("len([BODY].data.name) == 3", obs(), None),
    ("len([BODY]) < 10", obs(body=b"short"), None),
    ("len([BODY].status.x) == 1", obs(), "no value at [BODY].status.x"),
    ("len([BODY].n) == 1", obs(), "len() needs text, a list or an object, got 1"),
    # has() is about presence, including of null values
    ("has([BODY].errors) == false", obs(), None),
    ("has([BODY].e) == true", obs(), None),
    ("has([BODY].status) == false", obs(), "true"),
    # has() on a non-JSON body is not "absent": it is an error the user must see
    ("has([BODY].errors) == false", obs(body=b"oops"), "body is not JSON"),
    # header names are case-insensitive; the value is compared as written
    ("[HEADER].content-type == pat(*json*)", obs(), None),
    ("[HEADER].Content-Type == pat(*json*)", obs(), None),
    ("[HEADER].x-missing == a", obs(), "no x-missing header"),
    ("has([HEADER].x-missing) == false", obs(), None),
    # certificate expiration: seconds left at `now`, compared with a duration
    ("[CERTIFICATE_EXPIRATION] > 72h", obs(), None),
    ("[CERTIFICATE_EXPIRATION] > 30d", obs(), "10d"),
    ("[CERTIFICATE_EXPIRATION] > 0s", obs(certificate_expires_at=NOW - timedelta(hours=2)), "expired 2h ago"),
    ("[CERTIFICATE_EXPIRATION] > 72h", obs(certificate_expires_at=None), "no certificate"),
    # connected is a boolean; the literal is case-insensitive
    ("[CONNECTED] == true", obs(), None),
    ("[CONNECTED] == TRUE", obs(connected=False), "false"),
    # rcodes by name, case-insensitively
    ("[DNS_RCODE] == NOERROR", obs(dns_rcode="NOERROR"), None),
    ("[DNS_RCODE] == noerror", obs(dns_rcode="NXDOMAIN"), "NXDOMAIN"),
    ("[DNS_RCODE] != NXDOMAIN", obs(dns_rcode=None), "no DNS response"),
    # IPs compare as text
    ("[IP] == 127.0.0.1", obs(), None),
    ("[IP] == 10.0.0.1", obs(ip=None), "no IP address"),
    # string ordering when one side is not a number
    ("[BODY].data.name < c", obs(), None),
    # a quoted value keeps its spaces
    ('[BODY].data.name != " bar"', obs(), None),
    # lower-case placeholders are accepted
    ("[status] == 200", obs(), None),
]


@pytest.mark.parametrize(("condition", "observation", "actual"), CASES)
def test_condition_table(condition: str, observation: Observation, actual: str | None) -> None:
    failure = parse_condition(condition).evaluate(observation, NOW)
    if actual is None:
        assert failure is None, failure
    else:
        assert failure is not None, f"{condition} unexpectedly held"
        assert failure.actual == actual
        assert failure.condition == condition


def test_failure_carries_expected_as_written() -> None:
    failure = parse_condition("[STATUS] == any(200, 204)").evaluate(obs(status=500), NOW)
    assert failure is not None
    assert failure.expected == "== any(200, 204)"


def test_long_actual_values_are_cut() -> None:
    failure = parse_condition("[BODY] == x").evaluate(obs(body=b"a" * 500), NOW)
    assert failure is not None
    assert len(failure.actual) == 201


# (condition, exact error message)
ERRORS: list[tuple[str, str]] = [
    # nothing written
    ("", "invalid condition '' at column 1: the condition is empty; write it like [STATUS] == 200"),
    # the classic typo
    (
        "[STATUS] = 200",
        "invalid condition '[STATUS] = 200' at column 10: '=' is not an operator;"
        " use == to compare, like [STATUS] == 200",
    ),
    # operators need spaces (a value may contain < or >)
    (
        "[STATUS]==200",
        "invalid condition '[STATUS]==200' at column 9: put spaces around '==', like [STATUS] == 200",
    ),
    # no operator at all
    (
        "[STATUS] 200",
        "invalid condition '[STATUS] 200' at column 1: no comparison operator"
        " (==, !=, <=, >=, <, >); write it like [STATUS] == 200",
    ),
    # unknown placeholder: lists the known ones
    (
        "[STAUS] == 200",
        "invalid condition '[STAUS] == 200' at column 1: unknown placeholder [STAUS]; use one of [STATUS],"
        " [RESPONSE_TIME], [BODY], [HEADER], [IP], [CONNECTED], [CERTIFICATE_EXPIRATION], [DNS_RCODE]",
    ),
    # the value goes on the right
    (
        "200 == [STATUS]",
        "invalid condition '200 == [STATUS]' at column 1: the left side must be a placeholder like [STATUS]"
        " or a function like len([BODY].items), not '200'; put the value on the right",
    ),
    # placeholders compare with values
    (
        "[STATUS] == [BODY]",
        "invalid condition '[STATUS] == [BODY]' at column 13: compare a placeholder with a value,"
        " not with another placeholder",
    ),
    # typed right sides
    (
        "[STATUS] == OK",
        "invalid condition '[STATUS] == OK' at column 13: [STATUS] is a number, not 'OK';"
        " write it like [STATUS] == 200",
    ),
    (
        "[CERTIFICATE_EXPIRATION] > 72",
        "invalid condition '[CERTIFICATE_EXPIRATION] > 72' at column 28: [CERTIFICATE_EXPIRATION]"
        " compares with a duration like 72h or 30d, not '72'",
    ),
    (
        "[RESPONSE_TIME] < fast",
        "invalid condition '[RESPONSE_TIME] < fast' at column 19: [RESPONSE_TIME] is milliseconds"
        " like 300 or a duration like 2s, not 'fast'",
    ),
    (
        "[CONNECTED] == yes",
        "invalid condition '[CONNECTED] == yes' at column 16: [CONNECTED] is true or false, not 'yes'",
    ),
    (
        "[CONNECTED] > true",
        "invalid condition '[CONNECTED] > true' at column 15: [CONNECTED] can only be compared with == or !=",
    ),
    (
        "[DNS_RCODE] == NOERR",
        "invalid condition '[DNS_RCODE] == NOERR' at column 16: unknown DNS rcode 'NOERR'; use one of"
        " BADVERS, FORMERR, NOERROR, NOTAUTH, NOTIMP, NOTZONE, NXDOMAIN, NXRRSET, REFUSED, SERVFAIL,"
        " YXDOMAIN, YXRRSET",
    ),
    # paths
    (
        "[BODY].a..b == 1",
        "invalid condition '[BODY].a..b == 1' at column 9: bad JSON path at '..b';"
        " write keys as .name and indexes as [0], like [BODY].items[0].ok",
    ),
    (
        "[STATUS].code == 200",
        "invalid condition '[STATUS].code == 200' at column 9: [STATUS] takes no path; remove '.code'",
    ),
    (
        "[HEADER] == x",
        "invalid condition '[HEADER] == x' at column 9: [HEADER] needs a header name, like [HEADER].content-type",
    ),
    # functions
    (
        "lenn([BODY]) == 1",
        "invalid condition 'lenn([BODY]) == 1' at column 1: unknown function 'lenn';"
        " use len(...) or has(...) on the left",
    ),
    (
        "pat([BODY]) == x",
        "invalid condition 'pat([BODY]) == x' at column 1: pat(...) belongs on the right side, like [BODY] == pat(...)",
    ),
    (
        "has([STATUS]) == true",
        "invalid condition 'has([STATUS]) == true' at column 1: has(...) works on [BODY] paths and [HEADER] names",
    ),
    (
        "[BODY] < pat(*x*)",
        "invalid condition '[BODY] < pat(*x*)' at column 10: pat(...) only works with == or !=, not '<'",
    ),
    (
        "[BODY] == pat(*x",
        "invalid condition '[BODY] == pat(*x' at column 11: pat( is not closed; add ')' at the end",
    ),
    (
        "[STATUS] == any(200,,204)",
        "invalid condition '[STATUS] == any(200,,204)' at column 13: any(...) needs values separated"
        " by commas, like any(200, 204)",
    ),
    # nothing on the right
    (
        "[STATUS] ==  ",
        "invalid condition '[STATUS] ==  ' at column 12: nothing to compare with after '=='; write it like"
        " [STATUS] == 200",
    ),
]


@pytest.mark.parametrize(("condition", "message"), ERRORS)
def test_parse_errors_say_what_where_and_how(condition: str, message: str) -> None:
    with pytest.raises(ConditionError) as caught:
        parse_condition(condition)
    assert str(caught.value) == message


def test_compile_rejects_placeholders_the_kind_cannot_observe() -> None:
    with pytest.raises(ConditionError) as caught:
        compile_conditions(["[CONNECTED] == true", "[STATUS] == 200"], "tcp")
    assert str(caught.value) == (
        "conditions[1]: invalid condition '[STATUS] == 200' at column 1: [STATUS] does not apply to tcp"
        " monitors; use one of [BODY], [CERTIFICATE_EXPIRATION], [CONNECTED], [IP], [RESPONSE_TIME]"
    )


def test_compile_names_the_index_of_a_bad_condition() -> None:
    with pytest.raises(ConditionError, match=r"^conditions\[0\]: invalid condition"):
        compile_conditions(["[DNS_RCODE] = NOERROR"], "dns")


def test_compile_rejects_conditions_on_heartbeats() -> None:
    with pytest.raises(ConditionError, match="heartbeat monitors take no conditions; remove them"):
        compile_conditions(["[CONNECTED] == true"], "heartbeat")


def test_compile_carries_severity() -> None:
    compiled = compile_conditions(
        ["[STATUS] == 200", ConditionSpec(condition="[RESPONSE_TIME] < 100", severity="degraded")], "http"
    )
    assert [c.severity for c in compiled] == ["down", "degraded"]
    failures = evaluate_all(compiled, obs(status=500, latency_ms=500.0), NOW)
    assert [(f.condition, f.degraded_only) for f in failures] == [
        ("[STATUS] == 200", False),
        ("[RESPONSE_TIME] < 100", True),
    ]


def test_conditions_are_reusable_and_share_one_json_parse() -> None:
    compiled = compile_conditions(["[BODY].status == UP", "len([BODY].items) == 2"], "http")
    assert evaluate_all(compiled, obs(), NOW) == []
    assert evaluate_all(compiled, obs(body=b'{"status": "DOWN", "items": []}'), NOW)[0].actual == "DOWN"


def test_regexes_are_compiled_once() -> None:
    assert compiled_regex("^220 ") is compiled_regex("^220 ")
