"""A click command whose --help lists its options in named sections (inputs, outputs, model, engine)."""
from __future__ import annotations

import click


class GroupedCommand(click.Command):
    """click.Command with `sections`: {title: [parameter names]}; the rest go under "Other"."""

    def __init__(self, *args, sections: dict[str, list[str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sections = sections

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # options only: the arguments are in the usage line and the docstring
        rows = {p.name: p.get_help_record(ctx) for p in self.get_params(ctx) if isinstance(p, click.Option)}
        for title, names in [*self.sections.items(), ("Other", [n for n in rows if n])]:
            chosen = [rows.pop(name) for name in names if rows.get(name) is not None]
            if chosen:
                with formatter.section(title):
                    formatter.write_dl(chosen)
