"""``python -m training challenger add|remove|list``: which versions inference serves in shadow.

A challenger is a registered version served beside the champion; its predictions go to the
``predictions.challengers`` topic, tagged with its model name and version. The mark lives in the
registry (an MLflow alias ``challenger-<version>``, a tag flag on Hopsworks), so inference picks a
change up between batches, as it does a new champion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from training.cli.options import NameOpt, Scope, scope_options

if TYPE_CHECKING:
    from tickcast.registry import ModelRegistry

app = typer.Typer(help="Versions served in shadow beside the champion (predictions.challengers).",
                  no_args_is_help=True, add_completion=False)

VersionOpt = Annotated[str, typer.Option("--version", help="Registered version.")]


def _registry_and_name(options: Scope, name: str | None) -> tuple[ModelRegistry, str]:
    from tickcast.registry import make_registry
    from tickcast.serving import registered_model_name

    settings = options.settings()
    model_name = name or registered_model_name(settings.symbol_list(), settings.interval, settings.horizon_list()[0])
    return make_registry(settings.registry), model_name


def _show(registry: ModelRegistry, model_name: str) -> None:
    champion = registry.champion_version(model_name)
    challengers = registry.challenger_versions(model_name)
    typer.echo(f"{model_name}: champion {('v' + champion) if champion else 'none'}; challengers "
               + (", ".join(f"v{v}" for v in challengers) if challengers else "none"))


@app.command()
@scope_options()
def add(options: Scope, version: VersionOpt, name: NameOpt = None) -> None:
    """Serve VERSION in shadow beside the champion."""
    registry, model_name = _registry_and_name(options, name)
    if registry.champion_version(model_name) == version:
        raise typer.BadParameter(f"v{version} is the champion of {model_name}: it is served already")
    try:
        registry.add_challenger(model_name, version)
    except LookupError as exc:
        raise typer.BadParameter(str(exc)) from None
    _show(registry, model_name)


@app.command()
@scope_options()
def remove(options: Scope, version: VersionOpt, name: NameOpt = None) -> None:
    """Stop serving VERSION as a challenger."""
    registry, model_name = _registry_and_name(options, name)
    if version not in registry.challenger_versions(model_name):
        raise typer.BadParameter(f"v{version} is not a challenger of {model_name}")
    registry.remove_challenger(model_name, version)
    _show(registry, model_name)


@app.command("list")
@scope_options()
def list_challengers(options: Scope, name: NameOpt = None) -> None:
    """The champion and the challengers of the model."""
    registry, model_name = _registry_and_name(options, name)
    _show(registry, model_name)
