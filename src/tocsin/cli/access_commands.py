"""Click definitions of `tocsin user`, `tocsin token` and `tocsin config` (implementations in access.py)."""

from __future__ import annotations

from pathlib import Path

import click

from tocsin.auth.model import Role, Scope

DEFAULT_CONFIG = "tocsin.yaml"


def _db_options(command: click.decorators.FC) -> click.decorators.FC:
    """`--config` and `--database-url`, as for `tocsin serve`."""
    command = click.option("--database-url", default=None, help="Override storage.url and TOCSIN_DATABASE_URL.")(
        command
    )
    return click.option(
        "--config", "config_path", default=DEFAULT_CONFIG, show_default=True, type=click.Path(dir_okay=False)
    )(command)


_stdin = click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")


@click.group()
def user() -> None:
    """Console users: create, list, set passwords, delete."""


@user.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.RESPONDER.value, show_default=True)
@_stdin
@_db_options
def user_create(name: str, role: str, password_stdin: bool, config_path: str, database_url: str | None) -> None:
    """Create a local user with a password (prompted twice unless --password-stdin)."""
    from tocsin.cli import access

    password = access.read_password(password_stdin, name)
    click.echo(
        access.run_on_store(config_path, database_url, lambda s: access.create_user(s, name, Role(role), password))
    )


@user.command("list")
@_db_options
def user_list(config_path: str, database_url: str | None) -> None:
    """List users with their role, source and status."""
    from tocsin.cli import access

    click.echo(access.run_on_store(config_path, database_url, access.list_users))


@user.command("passwd")
@click.argument("name")
@_stdin
@_db_options
def user_passwd(name: str, password_stdin: bool, config_path: str, database_url: str | None) -> None:
    """Set a user's password (also how a user from the config file gets one); their sessions end."""
    from tocsin.cli import access

    password = access.read_password(password_stdin, name)
    click.echo(access.run_on_store(config_path, database_url, lambda s: access.set_password(s, name, password)))


@user.command("delete")
@click.argument("name")
@_db_options
def user_delete(name: str, config_path: str, database_url: str | None) -> None:
    """Delete a local user and end their sessions (not the last admin)."""
    from tocsin.cli import access

    click.echo(access.run_on_store(config_path, database_url, lambda s: access.delete_user(s, name)))


@click.group()
def token() -> None:
    """API tokens: create (shown once), list, revoke."""


@token.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice([s.value for s in Scope]),
    help="read, write, admin or ingest (repeatable).",
)
@click.option("--expires", default=None, help="Lifetime such as 90d; never expires when left out.")
@_db_options
def token_create(
    name: str, scopes: tuple[str, ...], expires: str | None, config_path: str, database_url: str | None
) -> None:
    """Create a token and print it on stdout: it is shown this once, only its hash is stored."""
    from tocsin.cli import access

    raw = access.run_on_store(config_path, database_url, lambda s: access.create_token(s, name, scopes, expires))
    click.echo(
        f"created token {name!r} with scopes {', '.join(sorted(scopes))}; copy it now, it is not shown again:", err=True
    )
    click.echo(raw)


@token.command("list")
@_db_options
def token_list(config_path: str, database_url: str | None) -> None:
    """List tokens: id, name, prefix, scopes, created, expires, last used, status."""
    from tocsin.cli import access

    click.echo(access.run_on_store(config_path, database_url, access.list_tokens))


@token.command("revoke")
@click.argument("which")
@_db_options
def token_revoke(which: str, config_path: str, database_url: str | None) -> None:
    """Revoke a token by id (or by name when one active token has it); it stops working at once."""
    from tocsin.cli import access

    click.echo(access.run_on_store(config_path, database_url, lambda s: access.revoke_token(s, which)))


@click.group()
def config() -> None:
    """Move objects between the database and the config file."""


@config.command("export")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write to a file instead of stdout."
)
@_db_options
def config_export(output: str | None, config_path: str, database_url: str | None) -> None:
    """Write the monitors created in the console or API as YAML that `tocsin validate` accepts."""
    from tocsin.cli import access

    text = access.run_on_store(config_path, database_url, access.export_monitors)
    if output:
        Path(output).write_text(text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)
