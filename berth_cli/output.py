"""eascmd-style output: box tables, aligned columns, progress lines on stdout, warnings on stderr, JSON."""

from __future__ import annotations

import json
import sys
import textwrap
from datetime import datetime


def say(line: str = "") -> None:
    print(line, flush=True)


def warn(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def print_json(value: object) -> None:
    say(json.dumps(value, indent=2, ensure_ascii=False))


def print_warnings(body: object) -> None:
    if isinstance(body, dict):
        for item in body.get("warnings") or []:
            warn(f"[WARN] {item.get('path') or '(config)'}: {item.get('message')}")


def when(value: str | None) -> str:
    """An API timestamp in local time, as eascmd shows it (2026-03-11 14:02:07)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def box(rows: list[list[str]], header: list[str] | None = None, right: set[int] = frozenset()) -> str:
    """An eascmd-style box table. Cells may hold several lines; columns in `right` align right."""
    split = [[str(cell).splitlines() or [""] for cell in row] for row in rows]
    columns = len(header) if header else max((len(r) for r in rows), default=0)
    widths = [0] * columns
    for row in ([[[h] for h in header]] if header else []) + split:
        for i, lines in enumerate(row):
            widths[i] = max(widths[i], *(len(line) for line in lines))
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(cells: list[str]) -> str:
        padded = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells)]
        return "| " + " | ".join(padded) + " |"

    out = [rule]
    if header:
        out += [line(header), rule]
    for row in split:
        height = max(len(lines) for lines in row)
        for n in range(height):
            out.append(line([lines[n] if n < len(lines) else "" for lines in row]))
    out.append(rule)
    return "\n".join(out)


def columns(rows: list[list[str]], header: list[str]) -> str:
    """A plain aligned table (kubectl-style) for free-text last columns."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    out = []
    for row in [header, *rows]:
        out.append("  ".join([str(c).ljust(widths[i]) for i, c in enumerate(row[:-1])] + [str(row[-1])]).rstrip())
    return "\n".join(out)


def endpoint_table(detail: dict) -> str:
    endpoints = detail.get("endpoints") or {}
    rows = [["Internet Endpoint", endpoints.get("internet", "")], ["Intranet Endpoint", endpoints.get("intranet", "")]]
    if endpoints.get("grpc"):
        rows.append(["gRPC Endpoint", endpoints["grpc"]])
    if detail.get("token"):
        rows.append(["Token", detail["token"]])
    return box(rows, right={0})


def wrap(text: str, width: int = 100) -> str:
    return "\n".join(textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)) or text


def host_names(instances: list[dict]) -> str:
    names = sorted({i["host"] for i in instances if i.get("host")})
    return ",".join(names) or "local"


def compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
