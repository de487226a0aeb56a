"""The `oncall:` config section: good configs convert to the core types, bad ones say what and where."""

from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from tocsin.config.translate import translate
from tocsin.oncall import (
    WORKDAYS,
    EscalationPolicy,
    Layer,
    Override,
    Restriction,
    Schedule,
    Step,
    Target,
    TargetKind,
    days,
    expand_targets,
    fixed,
    hours,
    weeks,
    who_is_on_call,
)
from tocsin.oncall.config import (
    EmailMethod,
    NotificationRule,
    OncallConfig,
    PhoneMethod,
    UrlMethod,
    parse_clock,
    schedules_by_name,
    shift_length,
    teams_by_name,
    to_policy,
    to_schedule,
)

GOOD = """
users:
  - {name: alice, email: alice@example.com, time_zone: Europe/London}
  - name: bob
    time_zone: America/New_York
    contact_methods:
      - {name: phone, kind: sms, number: "+12025550123"}
      - {name: call, kind: voice, number: "+12025550123"}
      - {name: chat, kind: matrix, address: "@bob:example.org"}
      - {name: slack, kind: slack, url: "https://hooks.slack.com/services/T0/B0/x"}
      - {name: push, kind: ntfy, url: "https://ntfy.sh/bob-pages"}
      - {name: hook, kind: webhook, url: "http://127.0.0.1:9000/page"}
      - {name: mail, kind: email, address: bob@example.com}
    notification_rules:
      high: [{contact_method: push}, {contact_method: phone, delay: 5m}, {contact_method: call, delay: 10m}]
      low: [{contact_method: mail}]
  - {name: carol, email: carol@example.com}
teams:
  - {name: sre, members: [alice, bob]}
schedules:
  - name: primary
    time_zone: Europe/London
    layers:
      - name: weekly
        participants: [alice, bob, carol]
        shift: 1w
        handoff: "09:00"
        start: 2026-01-05
      - name: business-hours
        participants: [carol]
        shift: {fixed: 36h}
        start: 2026-01-05
        handoff: "08:30"
        time_zone: America/New_York
        restrictions:
          - {days: [mon, tue, wed, thu, fri], from: "09:00", to: "17:00"}
    overrides:
      - {user: bob, start: 2026-03-29T00:30:00, end: 2026-03-29T03:00:00}
      - {user: carol, start: "2026-04-01T12:00:00+00:00", end: "2026-04-02T12:00:00+00:00", replaces: alice}
  - name: nights
    layers:
      - name: nights
        participants: [bob]
        shift: 12h
        start: 2026-01-05
        restrictions: [{from: "22:00", to: "06:00"}]
escalation_policies:
  - name: core
    steps:
      - targets: [{schedule: primary}]
        delay: 10m
      - targets: [{team: sre}, {user: carol}]
    repeat: 2
    ack_timeout: 30m
services:
  - name: api
    escalation_policy: core
    integration_keys:
      - {name: prometheus, key: 0123456789abcdef0123, kind: alertmanager}
      - {name: pd, key: fedcba98765432100123, kind: pagerduty}
    maintenance: true
  - {name: web, escalation_policy: core}
"""


def load(text: str) -> OncallConfig:
    """Validate YAML text as the `oncall:` section."""
    return OncallConfig.model_validate(yaml.safe_load(textwrap.dedent(text)))


def problems(text: str) -> list[str]:
    """The errors the loader reports for YAML text (key path, message and hint, no file)."""
    data = yaml.safe_load(textwrap.dedent(text))
    with pytest.raises(ValidationError) as info:
        OncallConfig.model_validate(data)
    return [pending.render(data).format() for pending in translate(info.value, OncallConfig, data, {}, set())]


def test_a_full_section_validates() -> None:
    cfg = load(GOOD)
    assert [u.name for u in cfg.users] == ["alice", "bob", "carol"]
    assert cfg.services[0].maintenance is True
    assert cfg.services[1].integration_keys == []
    assert [k.kind for k in cfg.services[0].integration_keys] == ["alertmanager", "pagerduty"]
    assert "0123456789abcdef0123" not in repr(cfg.services[0])  # keys are secrets


def test_schedule_converts_to_the_core_model() -> None:
    primary = to_schedule(load(GOOD).schedules[0])
    assert primary == Schedule(
        "primary",
        "Europe/London",
        layers=(
            Layer("weekly", ("alice", "bob", "carol"), weeks(1), date(2026, 1, 5), time(9), "Europe/London"),
            Layer(
                "business-hours",
                ("carol",),
                fixed(timedelta(hours=36)),
                date(2026, 1, 5),
                time(8, 30),
                "America/New_York",
                (Restriction(time(9), time(17), WORKDAYS),),
            ),
        ),
        overrides=(
            # Naive times are wall times in the schedule's zone: 00:30 GMT, and 03:00 BST (02:00 UTC).
            Override("bob", datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 3, 29, 2, tzinfo=UTC)),
            Override("carol", datetime(2026, 4, 1, 12, tzinfo=UTC), datetime(2026, 4, 2, 12, tzinfo=UTC), "alice"),
        ),
    )


def test_layers_default_to_the_schedules_zone_and_a_0900_handoff() -> None:
    nights = to_schedule(load(GOOD).schedules[1])
    assert nights.layers[0] == Layer(
        "nights", ("bob",), hours(12), date(2026, 1, 5), time(9), "UTC", (Restriction(time(22), time(6)),)
    )


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (datetime(2026, 3, 2, 8, tzinfo=UTC), ("bob",)),  # 08:00 London: bob's week until the 09:00 handoff
        (datetime(2026, 3, 2, 9, tzinfo=UTC), ("carol",)),  # 09:00 London: carol's week begins
        (datetime(2026, 3, 9, 12, tzinfo=UTC), ("alice",)),  # Monday 12:00 UTC is 08:00 in New York: no business layer
        (datetime(2026, 3, 9, 14, tzinfo=UTC), ("carol",)),  # 10:00 in New York (EDT since 8 March): business layer
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), ("bob",)),  # the override across London's clock change
        (datetime(2026, 4, 1, 13, tzinfo=UTC), ("carol",)),  # alice's week, replaced by carol
    ],
)
def test_converted_schedule_answers_who_is_on_call(at: datetime, expected: tuple[str, ...]) -> None:
    assert who_is_on_call(to_schedule(load(GOOD).schedules[0]), at) == expected


def test_policy_converts_to_the_core_model() -> None:
    policy = to_policy(load(GOOD).escalation_policies[0])
    assert policy == EscalationPolicy(
        "core",
        (
            Step((Target(TargetKind.SCHEDULE, "primary"),), timedelta(minutes=10)),
            Step((Target(TargetKind.TEAM, "sre"), Target(TargetKind.USER, "carol")), timedelta(minutes=30)),
        ),
        repeat=2,
        ack_timeout=timedelta(minutes=30),
    )


def test_targets_expand_with_the_converted_schedules_and_teams() -> None:
    cfg = load(GOOD)
    step = to_policy(cfg.escalation_policies[0]).steps[1]
    at = datetime(2026, 3, 2, 8, tzinfo=UTC)
    assert expand_targets(step.targets, at, schedules_by_name(cfg), teams_by_name(cfg)) == ("alice", "bob", "carol")


def test_a_user_with_only_an_email_is_paged_by_email_at_once() -> None:
    alice = load(GOOD).users[0]
    assert alice.methods() == (EmailMethod(kind="email", name="email", address="alice@example.com"),)
    assert alice.rules("high") == alice.rules("low") == (NotificationRule(contact_method="email"),)


def test_contact_methods_and_rules() -> None:
    bob = load(GOOD).users[1]
    assert isinstance(bob.methods()[0], PhoneMethod)
    assert isinstance(bob.methods()[3], UrlMethod)
    assert [(r.contact_method, r.delay) for r in bob.rules("high")] == [
        ("push", timedelta(0)),
        ("phone", timedelta(minutes=5)),
        ("call", timedelta(minutes=10)),
    ]
    assert [r.contact_method for r in bob.rules("low")] == ["mail"]


def test_dumped_config_validates_to_the_same_value() -> None:
    cfg = load(GOOD)
    dumped = cfg.model_dump(mode="json", by_alias=True)
    assert dumped["schedules"][0]["layers"][1]["shift"] == {"fixed": "1d12h"}
    assert dumped["schedules"][0]["layers"][1]["restrictions"][0]["from"] == "09:00"
    assert OncallConfig.model_validate(dumped) == cfg


def test_models_are_frozen() -> None:
    cfg = load(GOOD)
    with pytest.raises(ValidationError, match="frozen"):
        cfg.users[0].name = "mallory"  # type: ignore[misc]


def test_an_empty_section_is_valid() -> None:
    assert load("{}") == OncallConfig()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:00", time(9)),
        ("9:05", time(9, 5)),
        ("23:59", time(23, 59)),
        ("24:00", time(0)),  # the midnight that ends a day, for a window like 09:00-24:00
    ],
)
def test_times_of_day(text: str, expected: time) -> None:
    assert parse_clock(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12h", hours(12)), ("1d", days(1)), ("2w", weeks(2))],
)
def test_shift_lengths(text: str, expected: object) -> None:
    assert shift_length(text) == expected


USERS = "users: [{name: alice, email: alice@example.com}, {name: bob, email: bob@example.com}]\n"
POLICY = "escalation_policies: [{name: core, steps: [{targets: [{user: alice}]}]}]\n"


def schedule(layer: str = "", override: str = "") -> str:
    """A config with one schedule holding one layer and, if given, one override."""
    layer = layer or "{name: l, participants: [alice], shift: 1d, start: 2026-01-05}"
    overrides = f", overrides: [{override}]" if override else ""
    return USERS + f"schedules: [{{name: s, layers: [{layer}]{overrides}}}]\n"


BAD: list[tuple[str, str, list[str]]] = [
    # (what it proves, config, the errors the loader prints)
    (
        "a user nobody can page",
        "users: [{name: alice}]",
        ["users[alice]: user 'alice' cannot be paged: give an email or contact_methods"],
    ),
    (
        "duplicate user names",
        "users: [{name: alice, email: alice@example.com}, {name: alice, email: a2@example.com}]",
        ["users[alice].name: 'alice' is already the name of item 0; names must be unique"],
    ),
    (
        "an unknown time zone",
        "users: [{name: alice, email: a@example.com, time_zone: Europe/Londn}]",
        ["users[alice].time_zone: unknown time zone 'Europe/Londn'; use an IANA name like Asia/Tokyo"],
    ),
    (
        "an unknown contact method kind",
        "users: [{name: alice, contact_methods: [{name: p, kind: pager, number: '+12025550123'}]}]",
        [
            "users[alice].contact_methods[p].kind: unknown contact_method kind 'pager'; "
            "use one of email, matrix, slack, ntfy, webhook, sms, voice"
        ],
    ),
    (
        "a webhook that is not http(s)",
        "users: [{name: alice, contact_methods: [{name: h, kind: webhook, url: 'ftp://example.com'}]}]",
        ["users[alice].contact_methods[h].url: must start with http:// or https://"],
    ),
    (
        "a phone number not in E.164",
        "users: [{name: alice, contact_methods: [{name: p, kind: sms, number: '020 7946 0000'}]}]",
        [
            "users[alice].contact_methods[p].number: '020 7946 0000' is not a valid number\n"
            "  hint: it must match ^\\+[1-9]\\d{6,14}$"
        ],
    ),
    (
        "two contact methods with one name",
        "users: [{name: alice, contact_methods: [{name: m, kind: email, address: a@example.com},"
        " {name: m, kind: ntfy, url: 'https://ntfy.sh/a'}]}]",
        ["users[alice].contact_methods[m].name: 'm' is already the name of item 0; names must be unique"],
    ),
    (
        "a rule naming a contact method the user does not have",
        "users: [{name: alice, contact_methods: [{name: phone, kind: sms, number: '+12025550123'}],"
        " notification_rules: {high: [{contact_method: phone}],"
        " low: [{contact_method: phon, delay: 5m}, {contact_method: pager}]}}]",
        [
            "users[alice].notification_rules.low[0].contact_method: "
            "unknown contact method 'phon'; did you mean 'phone'?",
            "users[alice].notification_rules.low[1].contact_method: "
            "unknown contact method 'pager'; define it under this user's contact_methods",
        ],
    ),
    (
        "rules without a high-urgency one",
        "users: [{name: alice, email: a@example.com, notification_rules: {low: [{contact_method: email}]}}]",
        ["users[alice].notification_rules: missing required key 'high'"],
    ),
    (
        "a team member who is not a user",
        USERS + "teams: [{name: sre, members: [alice, bobby]}]",
        ["teams[sre].members[1]: unknown user 'bobby'; did you mean 'bob'?"],
    ),
    (
        "an empty team",
        USERS + "teams: [{name: sre, members: []}]",
        ["teams[sre].members: needs at least one item"],
    ),
    (
        "a participant who is not a user",
        schedule("{name: l, participants: [alice, zed], shift: 1d, start: 2026-01-05}"),
        ["schedules[s].layers[l].participants[1]: unknown user 'zed'; define it under oncall.users"],
    ),
    (
        "a layer with nobody in it",
        schedule("{name: l, participants: [], shift: 1d, start: 2026-01-05}"),
        ["schedules[s].layers[l].participants: needs at least one item"],
    ),
    (
        "a shift length in an unknown unit",
        schedule("{name: l, participants: [alice], shift: 3 days, start: 2026-01-05}"),
        [
            "schedules[s].layers[l].shift: '3 days' is not a shift length; "
            "write 12h, 1d or 2w, or {fixed: 36h} for elapsed time"
        ],
    ),
    (
        "a fixed shift of zero",
        schedule("{name: l, participants: [alice], shift: {fixed: 0}, start: 2026-01-05}"),
        ["schedules[s].layers[l].shift.fixed: must be longer than zero"],
    ),
    (
        "an unquoted handoff, which YAML reads as a number of minutes",
        schedule("{name: l, participants: [alice], shift: 1d, start: 2026-01-05, handoff: 17:30}"),
        [
            "schedules[s].layers[l].handoff: write times of day in quotes, like '17:30': "
            "unquoted, YAML reads 17:30 as 1050"
        ],
    ),
    (
        "a restriction with an unknown day and an impossible time",
        schedule(
            "{name: l, participants: [alice], shift: 1d, start: 2026-01-05,"
            " restrictions: [{days: [mon, tues], from: '09:00', to: '25:00'}]}"
        ),
        [
            "schedules[s].layers[l].restrictions[0].days[1]: "
            "must be one of mon, tue, wed, thu, fri, sat, sun, not 'tues'\n  hint: did you mean 'tue'?",
            "schedules[s].layers[l].restrictions[0].to: "
            "'25:00' is not a time of day; write it like '09:00' (24-hour clock)",
        ],
    ),
    (
        "a layer named like the overrides",
        schedule("{name: override, participants: [alice], shift: 1d, start: 2026-01-05}"),
        ["schedules[s].layers[override].name: 'override' is reserved for overrides; name the layer otherwise"],
    ),
    (
        "two layers with one name",
        USERS + "schedules: [{name: s, layers: [{name: l, participants: [alice], shift: 1d, start: 2026-01-05},"
        " {name: l, participants: [bob], shift: 1w, start: 2026-01-05}]}]",
        ["schedules[s].layers[l].name: 'l' is already the name of item 0; names must be unique"],
    ),
    (
        "an override for and instead of people who are not users",
        schedule(override="{user: zoe, start: 2026-03-01T09:00:00, end: 2026-03-02T09:00:00, replaces: alicia}"),
        [
            "schedules[s].overrides[0].user: unknown user 'zoe'; define it under oncall.users",
            "schedules[s].overrides[0].replaces: unknown user 'alicia'; did you mean 'alice'?",
        ],
    ),
    (
        "an override that ends before it starts",
        schedule(override="{user: bob, start: 2026-03-02T09:00:00, end: 2026-03-01T09:00:00}"),
        ["schedules[s].overrides[0].end: an override must end after it starts"],
    ),
    (
        "an override with an offset on one end only",
        schedule(override="{user: bob, start: '2026-03-01T09:00:00+01:00', end: 2026-03-02T09:00:00}"),
        ["schedules[s].overrides[0].end: give both start and end a UTC offset, or neither"],
    ),
    (
        "a target naming two things",
        USERS + "escalation_policies: [{name: core, steps: [{targets: [{user: alice, team: sre}]}]}]",
        [
            "escalation_policies[core].steps[0].targets[0]: "
            "a target names exactly one of user, schedule or team, like {schedule: primary}"
        ],
    ),
    (
        "targets that do not exist",
        USERS + "escalation_policies: [{name: core, steps: [{targets: [{schedule: primry}, {team: sre}]},"
        " {targets: [{user: carol}]}]}]",
        [
            "escalation_policies[core].steps[0].targets[0].schedule: unknown schedule 'primry'; "
            "define it under oncall.schedules",
            "escalation_policies[core].steps[0].targets[1].team: unknown team 'sre'; define it under oncall.teams",
            "escalation_policies[core].steps[1].targets[0].user: unknown user 'carol'; define it under oncall.users",
        ],
    ),
    (
        "a policy without steps, a negative repeat and a zero ack timeout",
        "escalation_policies: [{name: core, steps: [], repeat: -1, ack_timeout: 0s}]",
        [
            "escalation_policies[core].steps: needs at least one item",
            "escalation_policies[core].repeat: must be at least 0, not -1",
            "escalation_policies[core].ack_timeout: must be longer than zero",
        ],
    ),
    (
        "a step with no targets and a delay that is not a duration",
        "escalation_policies: [{name: core, steps: [{targets: [], delay: soon}]}]",
        [
            "escalation_policies[core].steps[0].targets: needs at least one item",
            "escalation_policies[core].steps[0].delay: 'soon' is not a duration; write it like 30s, 5m, 1h30m or 2d"
            "\n  hint: units are ms, s, m, h, d, w and y; combine them like 1h30m",
        ],
    ),
    (
        "a service whose escalation policy does not exist",
        USERS + POLICY + "services: [{name: api, escalation_policy: cor}]",
        ["services[api].escalation_policy: unknown escalation policy 'cor'; did you mean 'core'?"],
    ),
    (
        "an integration key that is short and of an unknown kind",
        USERS + POLICY + "services: [{name: api, escalation_policy: core,"
        " integration_keys: [{name: k, key: secret, kind: opsgenie}]}]",
        [
            "services[api].integration_keys[k].key: must be at least 16 characters long, not 6",
            "services[api].integration_keys[k].kind: must be one of pagerduty, generic, alertmanager, not 'opsgenie'",
        ],
    ),
    (
        "one integration key shared by two services",
        USERS + POLICY + "services: [{name: api, escalation_policy: core,"
        " integration_keys: [{name: k, key: 0123456789abcdef, kind: generic}]},"
        " {name: web, escalation_policy: core, integration_keys: [{name: w, key: 0123456789abcdef, kind: pagerduty}]}]",
        ["services[web].integration_keys[w].key: this key is already used by service 'api' (integration key 'k')"],
    ),
    (
        "duplicate service names",
        USERS + POLICY + "services: [{name: api, escalation_policy: core}, {name: api, escalation_policy: core}]",
        ["services[api].name: 'api' is already the name of item 0; names must be unique"],
    ),
    (
        "a misspelt key",
        USERS + POLICY + "services: [{name: api, escalation_policy: core, maintenence: true}]",
        ["services[api].maintenence: unknown key 'maintenence'\n  hint: did you mean 'maintenance'?"],
    ),
    (
        "a name with a space",
        "teams: [{name: 'site reliability', members: [alice]}]",
        [
            "teams[site reliability].name: 'site reliability' is not a valid name\n"
            "  hint: use letters, digits, '_', '.' and '-', starting with a letter or digit (at most 128)"
        ],
    ),
]


@pytest.mark.parametrize(("text", "expected"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_config_is_explained(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


def test_errors_name_their_key_path_when_validated_in_code() -> None:
    data: Any = yaml.safe_load(schedule("{name: l, participants: [zed], shift: 1d, start: 2026-01-05}"))
    with pytest.raises(ValidationError) as info:
        OncallConfig.model_validate(data)
    (error,) = info.value.errors()
    assert error["ctx"]["problems"] == [(("schedules", 0, "layers", 0, "participants", 0), error["msg"])]
