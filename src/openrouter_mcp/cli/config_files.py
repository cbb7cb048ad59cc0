"""MCP clients' config files, read and rewritten without losing anything: JSON (comments accepted on read), and
TOML edited in place so every other table, value and comment stays as it was; atomic writes that keep a file's
permissions, a timestamped backup beside it, and diffs in which no secret shows."""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import shutil
import tempfile
import time
import tomllib
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as time_of_day
from pathlib import Path
from typing import Any

TablePath = tuple[str, ...]


class FileProblem(Exception):
    """A config file that cannot be read or safely rewritten; the message names the file and the fix."""


@dataclass(frozen=True, slots=True)
class ConfigFile:
    path: Path
    format: str
    # The text with "\n" line ends (`crlf` says whether to write "\r\n" back); None when there is no file yet.
    text: str | None
    doc: dict[str, Any]
    crlf: bool = False
    # JSON with comments or trailing commas (VS Code and Gemini CLI accept them); rewriting drops them.
    jsonc: bool = False


def read(path: Path, fmt: str) -> ConfigFile:
    """The file parsed, or an empty document when it does not exist yet (or is empty)."""
    if path.is_dir():
        raise FileProblem(f"{path} is a folder: pass --config with the path of the config file itself")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return ConfigFile(path, fmt, None, {})
    except OSError as exc:
        raise FileProblem(f"cannot read {path}: {exc.strerror}; fix its permissions and run init again") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileProblem(f"{path} is not UTF-8 text: save it as UTF-8 (or move it aside) and run init again") from None
    crlf = "\r\n" in text
    text = text.replace("\r\n", "\n")
    if not text.strip():
        return ConfigFile(path, fmt, text, {}, crlf)
    doc, jsonc = _parse_toml(path, text) if fmt == "toml" else _parse_json(path, text)
    if not isinstance(doc, dict):
        raise FileProblem(f"{path} holds a JSON {type(doc).__name__}, not an object: fix it by hand (or move it aside) and run init again")
    return ConfigFile(path, fmt, text, doc, crlf, jsonc)


def _parse_toml(path: Path, text: str) -> tuple[dict[str, Any], bool]:
    try:
        return tomllib.loads(text), False
    except tomllib.TOMLDecodeError as exc:
        raise FileProblem(f"{path} is not valid TOML ({exc}): fix that line (or move the file aside) and run init again") from None


def _parse_json(path: Path, text: str) -> tuple[Any, bool]:
    try:
        return json.loads(text), False
    except json.JSONDecodeError as exc:
        strict = exc
    try:
        return json.loads(_strip_jsonc(text)), True
    except json.JSONDecodeError:
        raise FileProblem(
            f"{path} is not valid JSON (line {strict.lineno}, column {strict.colno}: {strict.msg}): fix that line (or move the file aside) and run init again"
        ) from None


def _strip_jsonc(text: str) -> str:
    """JSON with // and /* */ comments and trailing commas made plain JSON (strings left alone)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == '"':
            end = _quote_end(text, i) + 1
            out.append(text[i:end])
            i = end
        elif (comment_end := _comment_end(text, i)) is not None:
            out.append("\n" * text.count("\n", i, comment_end))  # the line breaks in a /* */ comment stay
            i = comment_end
        elif text[i] == "," and _next_code(text, i + 1) in ("}", "]"):
            i += 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _quote_end(text: str, start: int) -> int:
    """The index of the quote that closes the one-line string opening at `start` (a JSON or TOML basic string,
    with backslash escapes, or a TOML literal one, without), or of the line's end when none closes it."""
    quote = text[start]
    j = start + 1
    while j < len(text) and text[j] not in (quote, "\n"):
        j += 2 if quote == '"' and text[j] == "\\" else 1
    return j


def _comment_end(text: str, i: int) -> int | None:
    """Where the // or /* */ comment that starts at `i` ends (the end of the text if it is left open); None
    when no comment starts there."""
    if text.startswith("//", i):
        j = text.find("\n", i)
        return len(text) if j < 0 else j
    if text.startswith("/*", i):
        j = text.find("*/", i + 2)
        return len(text) if j < 0 else j + 2
    return None


def _next_code(text: str, i: int) -> str:
    """The first character after position `i` that is not whitespace or in a comment ("" at the end)."""
    while i < len(text):
        if text[i] in " \t\r\n":
            i += 1
        elif (j := _comment_end(text, i)) is not None:
            i = j
        else:
            return text[i : i + 1]
    return ""


def render(file: ConfigFile, doc: dict[str, Any], tables: Iterable[TablePath]) -> tuple[str, list[str]]:
    """The new text of `file` holding `doc`, and notes on anything the rewrite could not keep. `tables` are
    the TOML tables that changed; TOML is edited only there, so the rest keeps its comments and layout."""
    if file.format == "toml":
        text, notes = _render_toml(file, doc, list(tables))
    else:
        text = json.dumps(doc, indent=_json_indent(file.text or ""), ensure_ascii=False) + "\n"
        notes = [f"{file.path} had comments or trailing commas, which are not kept (the backup has them)"] if file.jsonc else []
    return (text.replace("\n", "\r\n") if file.crlf else text), notes


def _json_indent(text: str) -> str | int:
    """The file's own indentation (the first indented line's), so a rewrite changes as few lines as it can."""
    for line in text.splitlines()[1:]:
        body = line.lstrip(" \t")
        if body and len(body) < len(line):
            return line[: len(line) - len(body)]
    return 2


# --- TOML -----------------------------------------------------------------------------------------------------


def _render_toml(file: ConfigFile, doc: dict[str, Any], tables: list[TablePath]) -> tuple[str, list[str]]:
    if file.text and file.text.strip():
        edited = _edit_tables(file.text, doc, tables)
        if edited is not None:
            text, lost_comments = edited
            return text, [f"comments inside [{_key(t)}] are not kept" for t in lost_comments]
        notes = [
            f"{file.path} cannot be edited in place (its servers are written inline or with dotted keys), so it is "
            "rewritten whole: every table and value is kept, but its comments and layout are not (the backup has them)"
        ]
    else:
        notes = []
    whole = dump_toml(doc)
    if _parses_to(whole, doc):
        return whole, notes
    raise FileProblem(f"cannot write {file.path} as TOML that reads back the same: edit it by hand")


def _parses_to(text: str, doc: dict[str, Any]) -> bool:
    try:
        return tomllib.loads(text) == doc
    except tomllib.TOMLDecodeError:
        return False


def _edit_tables(text: str, doc: dict[str, Any], tables: list[TablePath]) -> tuple[str, list[TablePath]] | None:
    """`text` with each table in `tables` (and its sub-tables) taken out and written afresh from `doc`: in its
    old place, else after its sibling tables, else at the end. None when the result would not read back as
    exactly `doc` (the verdict that makes this line-based edit safe)."""
    lines = text.split("\n")
    headers = list(_headers(text, lines))
    blocks: list[tuple[int, int, TablePath]] = []
    for n, (start, key) in enumerate(headers):
        end = headers[n + 1][0] if n + 1 < len(headers) else len(lines)
        # Blank and comment lines before the next header introduce what follows: they stay.
        while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
            end -= 1
        blocks.append((start, end, key))
    drop: set[int] = set()
    at: dict[int, list[str]] = {}
    lost_comments: list[TablePath] = []
    for table in tables:
        body = _lookup(doc, table)
        mine = [(start, end) for start, end, key in blocks if key[: len(table)] == table]
        for start, end in mine:
            drop.update(range(start, end))
            if any(lines[i].lstrip().startswith("#") for i in range(start, end)) and table not in lost_comments:
                lost_comments.append(table)
        if body is None:
            continue
        if mine:
            at.setdefault(mine[0][0], []).extend(_dump_table(table, body, header=True))
            continue
        # A new table goes after its siblings ([mcp_servers.*] together), else at the end.
        siblings = [end for _, end, key in blocks if table[:-1] and key[: len(table) - 1] == table[:-1]]
        anchor = max(siblings) if siblings else len(lines)
        at.setdefault(anchor, []).extend(["", *_dump_table(table, body, header=True)])
    out: list[str] = []
    for i, line in enumerate(lines):
        out.extend(at.get(i, []))
        # A blank line that separated two tables taken out is not doubled.
        if i not in drop and not (not line.strip() and out and not out[-1].strip() and i - 1 in drop):
            out.append(line)
    if len(lines) in at:
        while out and not out[-1].strip():
            out.pop()
        out.extend([*at[len(lines)], ""])
    result = "\n".join(out)
    return (result, lost_comments) if _parses_to(result, doc) else None


def _lookup(doc: dict[str, Any], path: TablePath) -> dict[str, Any] | None:
    node: Any = doc
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def _headers(text: str, lines: list[str]) -> Iterator[tuple[int, TablePath]]:
    """(line index, key) of every table header ([a.b] and [[a.b]]) outside multi-line strings."""
    for i, (line, outside) in enumerate(zip(lines, _line_starts_outside_strings(text), strict=True)):
        if outside and line.lstrip().startswith("["):
            key = _header_key(line.strip())
            if key is not None:
                yield i, key


def _line_starts_outside_strings(text: str) -> list[bool]:
    """For each line, whether it begins outside a multi-line string (where a '[' could start a header)."""
    starts = [True]
    inside: str | None = None
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            starts.append(inside is None)
            i += 1
        elif inside is not None:
            if inside == '"""' and c == "\\" and i + 1 < n and text[i + 1] != "\n":
                i += 2
            elif text.startswith(inside, i):
                run = len(text[i:]) - len(text[i:].lstrip(inside[0]))
                i += min(run, 5)
                inside = None
            else:
                i += 1
        elif c == "#":
            i = n if (j := text.find("\n", i)) < 0 else j
        elif text.startswith('"""', i) or text.startswith("'''", i):
            inside = text[i : i + 3]
            i += 3
        elif c in "\"'":
            j = _quote_end(text, i)
            i = j + 1 if j < n and text[j] == c else j
        else:
            i += 1
    return starts


_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _header_key(line: str) -> TablePath | None:
    """The dotted key of a header line such as `[mcp_servers."my server"]  # comment`, or None."""
    array = line.startswith("[[")
    i = 2 if array else 1
    parts: list[str] = []
    while True:
        while i < len(line) and line[i] in " \t":
            i += 1
        if i < len(line) and line[i] in "\"'":
            quote = line[i]
            j = _quote_end(line, i)
            if j >= len(line):
                return None
            raw = line[i + 1 : j]
            try:
                parts.append(json.loads(f'"{raw}"') if quote == '"' else raw)
            except json.JSONDecodeError:
                return None
            i = j + 1
        elif match := _BARE.match(line, i):
            parts.append(match.group(0))
            i = match.end()
        else:
            return None
        while i < len(line) and line[i] in " \t":
            i += 1
        if i < len(line) and line[i] == ".":
            i += 1
            continue
        break
    close = "]]" if array else "]"
    if not line.startswith(close, i):
        return None
    rest = line[i + len(close) :].strip()
    return tuple(parts) if not rest or rest.startswith("#") else None


def dump_toml(doc: dict[str, Any]) -> str:
    """`doc` as TOML: plain keys first, then each table under its own header (arrays of tables as [[...]])."""
    lines = _dump_table((), doc, header=False)
    while lines and not lines[0]:
        lines.pop(0)
    return "\n".join(lines) + "\n"


def _dump_table(path: TablePath, table: dict[str, Any], *, header: bool) -> list[str]:
    lines = [f"[{_key(path)}]"] if header else []
    nested: list[tuple[str, Any]] = []
    for name, value in table.items():
        if isinstance(value, dict) or (isinstance(value, list) and value and all(isinstance(v, dict) for v in value)):
            nested.append((name, value))
        else:
            lines.append(f"{_key_part(name)} = {_value(value)}")
    for name, value in nested:
        sub = (*path, name)
        if isinstance(value, dict):
            lines += ["", *_dump_table(sub, value, header=True)]
        else:
            for item in value:
                lines += ["", f"[[{_key(sub)}]]", *_dump_table(sub, item, header=False)]
    return lines


def _key(path: TablePath) -> str:
    return ".".join(_key_part(p) for p in path)


def _key_part(name: str) -> str:
    return name if _BARE.fullmatch(name) else _string(name)


def _string(text: str) -> str:
    escapes = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
    body = "".join(escapes.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else c) for c in text)
    return f'"{body}"'


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, datetime | date | time_of_day):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key_part(k)} = {_value(v)}" for k, v in value.items()) + " }" if value else "{}"
    raise FileProblem(f"cannot write a {type(value).__name__} as TOML")


# --- Writing --------------------------------------------------------------------------------------------------


def backup(path: Path) -> Path:
    """A copy of `path` beside it, `<file>.bak-<YYYYmmdd-HHMMSS>`, with the same permissions (it may hold keys)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.bak-{stamp}")
    n = 2
    while target.exists():
        target = path.with_name(f"{path.name}.bak-{stamp}-{n}")
        n += 1
    shutil.copy2(path, target)
    return target


def new_file_mode(private: bool) -> int:
    """0600 for a new file that holds a key; otherwise what the user's umask gives a new file."""
    if private:
        return 0o600
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write(path: Path, text: str, mode: int) -> None:
    """Replace `path` atomically (a temporary file beside it, then os.replace), with `mode`. A symlink (a
    dotfiles checkout) stays a link: the file it points to is the one replaced."""
    target = path.resolve() if path.is_symlink() else path
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def existing_mode(path: Path) -> int:
    """The permissions of the file (of the one a symlink points to: stat follows links)."""
    return path.stat().st_mode & 0o7777


# --- Secrets in output ----------------------------------------------------------------------------------------

_SECRET_NAME = re.compile(r"(?i)key|token|secret|passw|auth|credential|cookie")
_SECRET_SHAPE = re.compile(r"\bsk-[A-Za-z0-9_-]{8,}")


def mask(secret: str) -> str:
    """`sk-or-…abcd`: enough to tell two keys apart, never enough to use one."""
    head = "sk-or-" if secret.startswith("sk-or-") else ""
    tail = secret[-4:] if len(secret) >= 16 else ""
    return f"{head}…{tail}"


def secrets_in(node: Any, name: str = "") -> Iterator[str]:
    """Every string in a parsed config that looks secret: values under names such as *KEY*, *TOKEN* or
    Authorization, and NAME=value arguments (`docker run -e OPENROUTER_API_KEY=…`) with such a name."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from secrets_in(value, str(key))
    elif isinstance(node, list):
        for item in node:
            yield from secrets_in(item, name)
    elif isinstance(node, str) and len(node) >= 8:
        variable, equals, value = node.partition("=")
        if _SECRET_NAME.search(name):
            yield node
        elif equals and _SECRET_NAME.search(variable) and len(value) >= 8:
            yield value


def hide(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, mask(secret))
    return _SECRET_SHAPE.sub(lambda m: mask(m.group(0)), text)


def masked_diff(path: Path, old: str | None, new: str, secrets: Iterable[str]) -> str:
    """A unified diff of the change to `path`, with every secret (in changed and context lines) masked."""
    secrets = list(secrets)
    before = hide(old, secrets).splitlines(keepends=True) if old else []
    after = hide(new.replace("\r\n", "\n"), secrets).splitlines(keepends=True)
    return "".join(difflib.unified_diff(before, after, "/dev/null" if old is None else str(path), f"{path} (after init)"))
