"""`openrouter-mcp init [CLIENT]`: set this server up in an MCP client's own config file, merged beside the servers
already there, after a backup, and only when something changes; `--from physics91|stabgan` turns the client's
entries of the server a user moves from into ours. Without CLIENT it lists the clients and their files."""

from __future__ import annotations

import argparse
import copy
import getpass
import os
import re
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config_files import ConfigFile, FileProblem, TablePath, backup, existing_mode, mask, masked_diff, new_file_mode, read, render, secrets_in, write
from .mcp_clients import CLIENTS, McpClient
from .seed_servers import SEEDS, TOOL_LIST_KEYS, SeedServer, docker_env, runs_ours

DEFAULT_NAME = "openrouter"
KEY_VAR = "OPENROUTER_API_KEY"
KEYS_URL = "https://openrouter.ai/keys"
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


class Refused(Exception):
    """init cannot go on; the message says why and what to do. Nothing has been written."""


def _client(raw: str) -> str:
    if raw not in CLIENTS:
        raise argparse.ArgumentTypeError(f"unknown client {raw!r}: use one of {', '.join(CLIENTS)} (`openrouter-mcp init` lists them with their files)")
    return raw


def _server_name(raw: str) -> str:
    if not _NAME.fullmatch(raw):
        raise argparse.ArgumentTypeError(f"{raw!r} is not a server name: use 1 to 64 letters, digits, '-' or '_' (every client accepts those)")
    return raw


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("client", nargs="?", type=_client, metavar="CLIENT", help=f"one of {', '.join(CLIENTS)}; leave it out to list them and their files")
    parser.add_argument("--dry-run", action="store_true", help="print the change as a diff (keys masked) and write nothing")
    parser.add_argument("--name", type=_server_name, help=f"the server's name in the client (default {DEFAULT_NAME})")
    parser.add_argument("--config", metavar="PATH", help="edit this file instead of the client's usual one")
    parser.add_argument(
        "--from",
        dest="source",
        choices=tuple(SEEDS),
        help="turn the client's entries of that server into ours: command, environment variables and tool names in allow-lists",
    )
    key = parser.add_mutually_exclusive_group()
    key.add_argument("--key-from-env", action="store_true", help=f"take the key from {KEY_VAR} only; never ask for it")
    key.add_argument("--no-key", action="store_true", help=f"write no key: the client must start the server with {KEY_VAR} set")
    key.add_argument("--login", action="store_true", help="get your own key through your browser first (openrouter-mcp login), for the entry's env")
    parser.add_argument("--no-browser", action="store_true", help="with --login: print the authorization URL instead of opening a browser")
    key.add_argument("--keyring", action="store_true", help="keep the key in the OS keyring (the server reads it from there); the config holds none")


def run(args: argparse.Namespace) -> int:
    try:
        if args.client is None:
            return list_clients()
        return set_up(args)
    except (Refused, FileProblem) as exc:
        print(f"openrouter-mcp init: {exc}\nNothing was changed.", file=sys.stderr)
        return 2


# --- Listing --------------------------------------------------------------------------------------------------


def list_clients() -> int:
    rows = [(c.id, c.title, str(c.locate()), _status(c)) for c in CLIENTS.values()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    print("MCP clients `openrouter-mcp init CLIENT` sets up (add --dry-run to see the change first):")
    for row in rows:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3])
    return 0


def _status(client: McpClient) -> str:
    try:
        config = read(client.locate(), client.format)
    except FileProblem:
        return f"unreadable: `openrouter-mcp init {client.id} --dry-run` says why"
    if config.text is None:
        return "no file yet"
    count, found = 0, []
    for _, servers in client.server_maps(config.doc):
        count += len(servers)
        for name, entry in servers.items():
            if not isinstance(entry, dict):
                continue
            if runs_ours(entry):
                found.append(f"openrouter-mcp as {name!r}")
            found += [f"{s.id} as {name!r} (--from {s.id})" for s in SEEDS.values() if s.runs(entry)]
    return f"{count} server{'' if count == 1 else 's'}" + ("; " + ", ".join(found) if found else "")


# --- Setting up -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyChoice:
    value: str | None  # the key to write into every entry this run touches
    drop: bool  # take any key out of them (--no-key)
    says: str  # where the key came from, masked


@dataclass(slots=True)
class Change:
    file: ConfigFile
    doc: dict[str, Any]
    tables: list[TablePath] = field(default_factory=list)


@dataclass(slots=True)
class Target:
    where: str
    name: str
    servers: dict[str, Any]
    action: str = "add"


@dataclass(slots=True)
class Plan:
    client: McpClient
    config: ConfigFile
    targets: list[Target]
    key: KeyChoice
    command: list[str]
    changes: list[Change]
    notes: list[str]


def set_up(args: argparse.Namespace) -> int:
    plan = _plan(args)
    if isinstance(plan, str):
        print(plan)
        return 0
    rendered = []
    for change in plan.changes:
        text, more = render(change.file, change.doc, change.tables)
        rendered.append((change, text))
        plan.notes += more
    done = "would " if args.dry_run else ""
    lines = [f"{plan.client.title}: {plan.config.path}"]
    lines += [f"  {done}{t.action} {t.name!r} ({t.where})" for t in plan.targets]
    lines += [f"  runs: {' '.join(plan.command)}", f"  key: {plan.key.says}", *(f"  note: {note}" for note in plan.notes)]
    if args.dry_run:
        secrets = {s for c in plan.changes for s in (*secrets_in(c.file.doc), *secrets_in(c.doc))}
        if plan.key.value:
            secrets.add(plan.key.value)
        for change, text in rendered:
            sys.stdout.write(masked_diff(change.file.path, change.file.text, text, secrets))
        print("\n".join(lines))
        print("dry run: nothing was written; run the same command without --dry-run to make this change (a backup is kept first).")
        return 0
    for change, text in rendered:
        path = change.file.path
        try:
            if change.file.text is not None:
                mode = existing_mode(path)
                lines.append(f"  backup: {backup(path)}")
            else:
                mode = new_file_mode(private=any(True for _ in secrets_in(change.doc)))
            write(path, text, mode)
        except OSError as exc:
            print("\n".join(lines), file=sys.stderr)
            print(f"openrouter-mcp init: cannot write {path}: {exc.strerror}; fix that and run init again (it is still as it was)", file=sys.stderr)
            return 1
        lines.append(f"  wrote: {path}")
    print("\n".join(lines))
    print(f"next: {plan.client.after}.")
    return 0


def _plan(args: argparse.Namespace) -> Plan | str:
    """What init would change, or why nothing needs to."""
    if args.source and args.name:
        raise Refused("--from keeps each entry's own name, so permissions and settings that name it keep working: leave out --name")
    client = CLIENTS[args.client]
    config = read(Path(args.config).expanduser() if args.config else client.locate(), client.format)
    doc = copy.deepcopy(config.doc)
    seed = SEEDS[args.source] if args.source else None
    targets = _seed_targets(client, config, doc, seed) if seed else [_own_target(client, config, doc, args.name or DEFAULT_NAME)]
    if seed is not None and not targets:
        return f"{client.title}: {config.path} has no {seed.title} server left, and already runs openrouter-mcp; nothing to change."
    key = _key(args, [t.servers.get(t.name) for t in targets])
    command, base = our_command()
    notes: list[str] = []
    for t in targets:
        old = t.servers.get(t.name)
        if seed is not None and isinstance(old, dict):
            t.servers[t.name] = _migrated(client, seed, old, command, base, key, config.path, t, notes)
        else:
            t.servers[t.name] = _ours(client, old if isinstance(old, dict) else None, command, base, key, config.path, t.name)
    changes = [Change(config, doc, [(client.servers_key, t.name) for t in targets if t.where == client.servers_key])]
    if seed is not None and client.permissions is not None and not args.config:
        changes.append(_permissions(read(client.permissions(), "json"), seed, {t.name for t in targets}, notes))
    changes = [c for c in changes if c.doc != c.file.doc]
    if not changes:
        return f"{client.title}: {config.path} already runs openrouter-mcp as {', '.join(repr(t.name) for t in targets)}; nothing to change."
    if client.startup_notes is not None:
        notes += client.startup_notes(doc, [t.name for t in targets])
    holds_key = any(isinstance(e := t.servers.get(t.name), dict) and KEY_VAR in (e.get("env") or {}) for t in targets)
    if holds_key and config.text is not None and (mode := existing_mode(config.path)) & 0o077:
        notes.append(f"{config.path} can be read by other users (mode {mode:o}) and holds your key: run chmod 600 {config.path}")
    return Plan(client, config, targets, key, [command, *base], changes, notes)


def _own_target(client: McpClient, config: ConfigFile, doc: dict[str, Any], name: str) -> Target:
    servers = doc.setdefault(client.servers_key, {})
    if not isinstance(servers, dict):
        raise Refused(f"{config.path}: {client.servers_key!r} is not a map of servers: fix it by hand (or move the file aside) and run init again")
    old = servers.get(name)
    if old is not None and not (isinstance(old, dict) and runs_ours(old)):
        seed = next((s for s in SEEDS.values() if s.runs(old)), None) if isinstance(old, dict) else None
        what, fix = (f"runs {seed.title}", f"pass --from {seed.id} to turn it into ours") if seed else ("runs another program", "leave it be")
        raise Refused(f"{config.path} already has a server named {name!r} that {what}: {fix}, or add ours beside it with --name openrouter-mcp")
    return Target(client.servers_key, name, servers, "update" if old is not None else "add")


def _seed_targets(client: McpClient, config: ConfigFile, doc: dict[str, Any], seed: SeedServer) -> list[Target]:
    targets = [
        Target(where, name, servers, "move")
        for where, servers in client.server_maps(doc)
        for name, e in servers.items()
        if isinstance(e, dict) and seed.runs(e)
    ]
    ours = any(isinstance(e, dict) and runs_ours(e) for _, servers in client.server_maps(doc) for e in servers.values())
    if not targets and not ours:
        raise Refused(
            f"{config.path} has no {seed.title} server (one that runs {seed.launch}), so there is nothing to move: "
            f"run `openrouter-mcp init {client.id}` without --from to add ours"
        )
    return targets


def _entry_key(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return None
    env = entry.get("env")
    key = env.get(KEY_VAR) if isinstance(env, dict) else None
    return key if isinstance(key, str) and key.strip() else docker_env(entry).get(KEY_VAR)


def _key(args: argparse.Namespace, entries: list[Any]) -> KeyChoice:
    """The key for the entries: none with --no-key; else OPENROUTER_API_KEY; else the one they already hold;
    else typed at a hidden prompt when stdin is a terminal (a dry run shows the change without asking)."""
    if args.no_key:
        return KeyChoice(None, True, f"none in the config (--no-key): the client must start the server with {KEY_VAR} set")
    if args.keyring:
        return _keyring_key(args)
    if args.login:
        return _login_key(args)
    if env_key := os.environ.get(KEY_VAR, "").strip():
        return KeyChoice(env_key, False, f"from {KEY_VAR} ({mask(env_key)}), in the entry's env")
    held = [_entry_key(e) for e in entries]
    if held and all(held):
        return KeyChoice(None, False, f"kept the one the entry already holds ({mask(held[0] or '')})")
    if args.key_from_env:
        raise Refused(f"{KEY_VAR} is not set: export it (get a key at {KEYS_URL}) and run init again, or leave out --key-from-env to be asked for it")
    if args.dry_run:
        return KeyChoice(None, False, f"not set yet: without --dry-run you are asked for it (input hidden), unless {KEY_VAR} is set")
    if not sys.stdin.isatty():
        raise Refused(
            f"no API key: set {KEY_VAR} (get a key at {KEYS_URL}), pass --login to get one through your browser, run init in a terminal "
            "to be asked for it, or pass --no-key to write none"
        )
    if input("No OPENROUTER_API_KEY is set. Get your own key through your browser now (openrouter-mcp login)? [Y/n] ").strip().lower() in ("", "y", "yes"):
        return _login_key(args)
    typed = _typed_key(", or pass --no-key")
    return KeyChoice(typed, False, f"typed at the prompt ({mask(typed)}), in the entry's env")


def _typed_key(other_way: str = "") -> str:
    """The key typed at a hidden prompt; Refused when none is typed."""
    typed = getpass.getpass(f"OpenRouter API key (input hidden; get one at {KEYS_URL}): ").strip()
    if not typed:
        raise Refused(f"no key was typed: run init again and paste it{other_way}")
    return typed


def _login_key(args: argparse.Namespace) -> KeyChoice:
    """--login (or yes to the offer): OpenRouter's OAuth in the browser makes the person a key, which goes into
    the entry's env like any other key (never printed)."""
    from .common import Refused as LoginRefused
    from .common import settings_or_exit
    from .login import obtain_key

    if args.dry_run:
        return KeyChoice(None, False, "would be made through your browser (openrouter-mcp login), in the entry's env")
    try:
        key = obtain_key(settings_or_exit(require_key=False), browser=not args.no_browser).get()
    except LoginRefused as refused:
        raise Refused(f"login: {refused}") from None
    return KeyChoice(key, False, f"made through your browser ({mask(key)}), in the entry's env")


def _keyring_key(args: argparse.Namespace) -> KeyChoice:
    """--keyring: the key (from OPENROUTER_API_KEY, else typed) goes into the OS keyring, where the server reads
    it when its environment holds none; the entry holds no key."""
    from ..config import KEYRING_NAME, KEYRING_SERVICE
    from .login import NO_KEYRING, usable_keyring

    keyring = usable_keyring()
    if keyring is None:
        raise Refused(f"{NO_KEYRING}: leave out --keyring")
    where = f"in the OS keyring (service {KEYRING_SERVICE!r}, name {KEYRING_NAME!r}), where the server reads it; none in the config"
    typed = os.environ.get(KEY_VAR, "").strip()
    if args.dry_run:
        return KeyChoice(None, True, f"{mask(typed) if typed else 'asked for (input hidden)'} would go {where}")
    if not typed:
        if not sys.stdin.isatty():
            raise Refused(f"no API key: set {KEY_VAR} or run init in a terminal to be asked for it")
        typed = _typed_key()
    keyring.set_password(KEYRING_SERVICE, KEYRING_NAME, typed)
    return KeyChoice(None, True, f"{mask(typed)} saved {where}")


def our_command() -> tuple[str, list[str]]:
    """The absolute path of this installation's `openrouter-mcp` script, so the client finds it without any PATH
    change; else this Python running the package."""
    script = "openrouter-mcp.exe" if os.name == "nt" else "openrouter-mcp"
    for folder in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        if (folder / script).is_file():
            return str(folder / script), ["serve"]
    return sys.executable, ["-m", "openrouter_mcp", "serve"]


def _env(entry: dict[str, Any], path: Path, name: str) -> dict[str, Any]:
    env = entry.get("env", {})
    if not isinstance(env, dict):
        raise Refused(f"{path}: the env of server {name!r} is not a map of variables: fix it by hand and run init again")
    return dict(env)


def _with_key(env: dict[str, Any], key: KeyChoice) -> dict[str, Any]:
    if key.drop:
        env.pop(KEY_VAR, None)
    elif key.value is not None:
        env[KEY_VAR] = key.value
    return env


def _ours(client: McpClient, old: dict[str, Any] | None, command: str, base: list[str], key: KeyChoice, path: Path, name: str) -> dict[str, Any]:
    """Our entry: the old one's own settings kept (more variables, timeouts, tool lists, arguments after `serve`),
    with the command of this installation and the key."""
    if old is None:
        return client.entry(command, base, _with_key({}, key))
    old_args = old.get("args")
    args: list[Any] = old_args if isinstance(old_args, list) else []
    extra = args[args.index("serve") + 1 :] if "serve" in args else []
    entry = {**old, **client.entry(command, [*base, *extra], {})}
    env = _with_key(_env(old, path, name), key)
    if env or "env" in old:
        entry["env"] = env
    return entry


def _migrated(
    client: McpClient, seed: SeedServer, old: dict[str, Any], command: str, base: list[str], key: KeyChoice, path: Path, target: Target, notes: list[str]
) -> dict[str, Any]:
    """A `seed` entry rewritten as ours under the same name: our command, its variables mapped to ours (a key
    passed to Docker with -e kept), tool names in the entry's tool lists mapped, every other setting kept."""
    mine: list[str] = []
    env = _with_key(seed.env({**docker_env(old), **_env(old, path, target.name)}, mine), key)
    entry = client.entry(command, base, {})
    for name, value in old.items():
        if name in ("command", "args", "env"):
            continue
        if name == "cwd":
            mine.append(f"dropped cwd (the folder {seed.title} ran in)")
            continue
        entry[name] = seed.tool_names(value, mine, name) if name in TOOL_LIST_KEYS and isinstance(value, list) else value
    if env:
        entry["env"] = env
    notes += [f"{target.name!r}: {note}" for note in mine]
    return entry


def _permissions(file: ConfigFile, seed: SeedServer, servers: set[str], notes: list[str]) -> Change:
    """Claude Code's permission rules (`mcp__<server>__<tool>` in allow, ask and deny) with the tools renamed."""
    doc = copy.deepcopy(file.doc)
    rules = doc.get("permissions")
    if isinstance(rules, dict):
        for kind in ("allow", "ask", "deny"):
            if isinstance(rules.get(kind), list):
                kept: list[Any] = []
                for rule in rules[kind]:
                    new = seed.rule(rule, servers, notes, f"{file.path} permissions.{kind}")
                    if new is not None and new not in kept:
                        kept.append(new)
                rules[kind] = kept
    return Change(file, doc)
