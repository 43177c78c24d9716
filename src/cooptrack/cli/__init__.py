"""The command line: parse, call one service, print. Exit codes: 0 ok, 1 invalid input
(nothing written), 2 usage error."""

from __future__ import annotations

import typer

from cooptrack.cli.common import command

app = typer.Typer(
    help="cooptrack: monitor intergovernmental economic cooperation programmes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from cooptrack.cli import (
        audit,
        claims,
        codes,
        db,
        demo,
        observation,
        organisation,
        overview,
        programme,
        project,
        rate,
        source,
        target,
    )

    app.add_typer(programme.app, name="programme")
    app.add_typer(project.app, name="project")
    app.add_typer(observation.app, name="observation")
    app.add_typer(target.app, name="target")
    app.add_typer(rate.app, name="rate")
    app.add_typer(db.app, name="db")
    app.add_typer(codes.app, name="codes")
    app.add_typer(source.app, name="source")
    app.add_typer(organisation.app, name="organisation")
    app.add_typer(claims.app, name="claims")
    app.add_typer(claims.conflicts_app, name="conflicts")
    command(app, "extract")(claims.extract_command)
    # The exchange formats: each module registers its commands on these two apps on import.
    from cooptrack.cli import exchange, iati, tabular, trade  # noqa: F401

    app.add_typer(exchange.import_app, name="import")
    app.add_typer(exchange.export_app, name="export")
    app.add_typer(trade.trade_app, name="trade")
    app.add_typer(tabular.template_app, name="template")
    command(app, "ingest")(claims.ingest_command)
    command(app, "init")(db.init)
    command(app, "overview")(overview.overview)
    command(app, "demo")(demo.demo)
    command(app, "load")(demo.load)
    command(app, "audit")(audit.audit)
    from cooptrack.cli import programme_report
    command(app, "report")(programme_report.report)
    from cooptrack.cli import serve, users

    command(app, "serve")(serve.serve)
    app.add_typer(users.user_app, name="user")
    app.add_typer(users.token_app, name="token")


_register()


def main() -> None:
    app()
