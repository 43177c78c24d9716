"""`cooptrack demo` and `cooptrack load FILE`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cooptrack.cli.common import console, ok, open_store, reading, writing
from cooptrack.cli.overview import render
from cooptrack.services.context import Context
from cooptrack.services.datasets import demo_loaded, demo_path, load_dataset, read_dataset
from cooptrack.services.overview import programme_overview
from cooptrack.store.migrate import upgrade


def demo() -> None:
    """Create the database if needed, load the Fresh Wind demo once, print its overview."""
    store = open_store(check=False)
    upgrade(store)
    store.dispose()
    with writing() as ctx:
        if demo_loaded(ctx):
            loaded = False
        else:
            load_dataset(ctx, read_dataset(demo_path()), "fresh_wind.yaml", base=demo_path().parent)
            loaded = True
    if loaded:
        ok("loaded the Fresh Wind demo")
    with reading() as ctx:
        render(programme_overview(ctx, "fresh-wind").as_dict())
    console.print("\nNext: `cooptrack project show bakad`, `cooptrack overview fresh-wind --json`, "
                  "`cooptrack audit`.")


def load(
    path: Annotated[Path, typer.Argument(help="A cooptrack dataset file (.yaml or .json).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check everything, write nothing.")] = False,
) -> None:
    """Load a dataset file: sources, rates, programmes, projects, observations, targets."""
    data = read_dataset(path)
    store = open_store()
    try:
        with store.write() as session:
            result = load_dataset(Context(session, _actor()), data, path.name, base=path.parent)
            if dry_run:
                session.rollback()
    finally:
        store.dispose()
    counts = ", ".join(f"{v} {k}" for k, v in result.counts.items()) or "nothing"
    ok(("checked (dry run, nothing written): " if dry_run else "loaded: ") + counts)


def _actor() -> str:
    from cooptrack.config import load_settings

    return load_settings().actor
