"""The page shell every view is drawn in: one stylesheet, inline (no fonts, scripts or files from
anywhere else), a Content-Security-Policy in the page itself, and the table helper the views share."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from html import escape

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:24px;max-width:1100px;background:#fff}
h1{font-size:20px;margin:0 0 8px} h2{font-size:16px;margin:22px 0 6px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0} dt{color:#666} dd{margin:0}
table{border-collapse:collapse;margin-top:8px} th,td{padding:4px 8px;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}
th{background:#f6f7f9} td.l,th.l{text-align:left}
.sw{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px;vertical-align:baseline}
.note{color:#666;font-size:12px} .legend{list-style:none;padding:0;margin:4px 0;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px}
.tiles{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0} .tile{border:1px solid #dde1e6;border-radius:6px;padding:6px 12px;min-width:120px}
.tile b{display:block;font-size:18px} .tile span{color:#666;font-size:12px}
.over{color:#b00020;font-weight:600} .bad{color:#b00020} svg.chart{max-width:100%;height:auto}
nav{display:flex;gap:16px;align-items:center;border-bottom:1px solid #dde1e6;padding-bottom:8px;margin-bottom:12px}
nav .who{margin-left:auto;color:#555} form.inline{display:inline} button,select,input{font:inherit}
.pager{display:flex;gap:12px;margin-top:6px} .progress{width:120px;height:8px;background:#e4e7eb;border-radius:4px;display:inline-block;vertical-align:middle}
.progress i{display:block;height:8px;background:#3465a4;border-radius:4px}
.card{max-width:420px;margin:60px auto;border:1px solid #dde1e6;border-radius:8px;padding:20px 24px}
.card input[type=password]{width:100%;box-sizing:border-box;padding:6px;margin:6px 0 10px}
.err{color:#b00020} form.filters{margin-bottom:14px}
"""


def script_hash(script: str) -> str:
    """The CSP source that allows exactly this inline script (CSP Level 2, 'sha256-...')."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


def csp(*, script: str | None = None, forms: bool = False) -> str:
    """A policy that loads nothing from anywhere: inline styles, images only as data: URLs, and at most the
    one inline script named by its hash."""
    rules = ["default-src 'none'", "style-src 'unsafe-inline'", "img-src data:", "base-uri 'none'"]
    if script is not None:
        rules.append(f"script-src {script_hash(script)}")
    if forms:
        rules.append("form-action 'self'")
    return "; ".join(rules)


def document(title: str, body: str, *, script: str | None = None, policy: str | None = None) -> str:
    """A whole HTML page; `policy` is repeated in a meta tag so a saved copy keeps it."""
    rule = policy or csp(script=script)
    code = f"<script>{script}</script>" if script is not None else ""
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{escape(rule)}">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n'  # no request for /favicon.ico
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style></head><body>\n{body}\n{code}</body></html>\n"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, left: Sequence[int] = (0,), table_id: str | None = None) -> str:
    """A table of already escaped cells (a cell may hold markup); columns in `left` are left-aligned."""
    lefts = set(left)
    head = "".join(f"<th{' class=l' if i in lefts else ''}>{escape(h)}</th>" for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f"<td{' class=l' if i in lefts else ''}>{c}</td>" for i, c in enumerate(row)) + "</tr>" for row in rows)
    ident = f' id="{escape(table_id)}"' if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def usd(value: float | None, digits: int = 6) -> str:
    """An amount as the tools' texts print it ($0.001234); '-' for none."""
    return "-" if value is None else f"${value:.{digits}f}"
