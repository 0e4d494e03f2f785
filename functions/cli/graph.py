"""``routines graph FILE [--format mermaid|svg] [--output PATH]``: the routine as a picture
(conventions: :mod:`functions.graphs`). Exit 1 with the validation errors for a routine
that is not valid."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from contract.problems import Report
from functions.cli.errors import EXIT_INVALID, EXIT_OK, UsageError
from functions.cli.loading import parse_json, read_source


def add_graph_command(commands: Any) -> None:
    graph = commands.add_parser("graph", help="draw a routine: Mermaid flowchart text or an SVG file")
    graph.add_argument("file", metavar="FILE", help="routine JSON file ('-' = stdin)")
    graph.add_argument("--format", choices=("mermaid", "svg"), default="mermaid", help="default: mermaid")
    graph.add_argument("--output", "-o", metavar="PATH", help="write to this file instead of stdout")
    graph.set_defaults(handler=cmd_graph)


def cmd_graph(args: argparse.Namespace) -> int:
    from functions.cli.main import _human
    from functions.graphs import mermaid, svg
    from statemachines.validator import analyse

    report = Report()
    ok, document = parse_json(read_source(args.file), report)
    validation = analyse(document) if ok else None
    if validation is None or not validation.report.valid or validation.topology is None:
        print(_human(args.file, validation.report if validation else report), file=sys.stderr)
        return EXIT_INVALID
    text = svg(validation.topology) if args.format == "svg" else mermaid(validation.topology)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(text)
    return EXIT_OK
