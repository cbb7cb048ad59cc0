"""`openrouter-mcp login`: gets the person's own OpenRouter API key through OpenRouter's OAuth PKCE flow and
stores it where they choose: the OS keyring, an env file only they can read, or (with `--print` only) standard
output. The key is shown nowhere else.

The flow, as https://openrouter.ai/docs/guides/overview/auth/oauth describes it: the browser goes to
`<site>/auth?callback_url=...&code_challenge=...&code_challenge_method=S256`; once the person approves,
OpenRouter sends it back to our loopback `callback_url` with `?code=...`; `upstream.auth.exchange_code` trades
that code and its verifier for the key. Only the holder of the verifier can make that trade, which is what
protects a code that reaches the callback from anyone else.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib
import os
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from ..config import KEYRING_NAME, KEYRING_SERVICE
from .common import Refused

if TYPE_CHECKING:
    from ..config import Secret, Settings

KEY_NAME = KEYRING_NAME  # the variable in an env file, and the key's name in the keyring
NO_KEYRING = "no OS keyring is usable here (install the `keyring` package, with a backend for this system)"
AGAIN = "Run `openrouter-mcp login` again."


class _SaveTarget(argparse.Action):
    """`--save keyring` or `--save env-file PATH`, refused (exit 2) in any other shape."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option_string: str | None = None) -> None:
        if values != ["keyring"] and not (len(values) == 2 and values[0] == "env-file"):
            parser.error("--save takes `keyring` or `env-file PATH`")
        setattr(namespace, self.dest, values)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--save",
        nargs="+",
        action=_SaveTarget,
        metavar=("{keyring,env-file}", "PATH"),
        help="`keyring` (the OS keyring) or `env-file PATH` (a file only you can read, with OPENROUTER_API_KEY=...); "
        "default: the keyring if there is one, else you are asked",
    )
    where.add_argument("--print", dest="print_key", action="store_true", help="print the key on standard output instead of storing it")
    parser.add_argument("--no-browser", action="store_true", help="print the authorization URL instead of opening a browser")
    parser.add_argument("--port", type=_port, default=0, help="loopback port OpenRouter sends the browser back to (default: a free one)")
    parser.add_argument("--timeout", type=_seconds, default=300.0, metavar="SECONDS", help="how long to wait for your approval (default 300)")


def _port(raw: str) -> int:
    if not raw.isdigit() or not 0 <= int(raw) <= 65535:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a port number (0 to 65535; 0 picks a free one)")
    return int(raw)


def _seconds(raw: str) -> float:
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"{raw!r} is not a positive number of seconds")
    return seconds


@dataclass(frozen=True, slots=True)
class Destination:
    """Where the key goes: `keyring`, `env-file` (at `path`) or `print`."""

    kind: str
    path: Path | None = None


def run(args: argparse.Namespace) -> int:
    from .common import settings_or_exit

    settings = settings_or_exit(require_key=False)
    try:
        destination = _destination(args.save, print_key=args.print_key)
        _store(destination, obtain_key(settings, port=args.port, browser=not args.no_browser, timeout_s=args.timeout))
    except Refused as refused:
        print(f"openrouter-mcp login: {refused}", file=sys.stderr, flush=True)
        return refused.status
    return 0


def obtain_key(settings: Settings, *, port: int = 0, browser: bool = True, timeout_s: float = 300.0) -> Secret:
    """The whole flow (also offered by `init` when no key is set): the person approves in the browser, the
    code that comes back to the loopback callback is exchanged for their key. Raises Refused."""
    import asyncio

    from ..errors import ToolFailure
    from ..upstream.auth import exchange_code

    auth_page = auth_page_url(settings.base_url)
    verifier = secrets.token_urlsafe(48)  # 64 characters, within RFC 7636's 43 to 128
    code = _approval(auth_page, s256(verifier), port=port, browser=browser, timeout_s=timeout_s)
    try:
        return asyncio.run(exchange_code(settings, code, verifier))
    except ToolFailure as failure:
        raise Refused(1, failure.message) from None


def s256(verifier: str) -> str:
    """The S256 code challenge: base64url of the verifier's SHA-256, without padding (RFC 7636)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def auth_page_url(base_url: str) -> str:
    """OpenRouter's authorization page for an API base URL: https://openrouter.ai/api/v1 -> https://openrouter.ai/auth."""
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/")
    if not path.endswith("/api/v1"):
        raise Refused(2, f"OPENROUTER_BASE_URL={base_url!r} does not end in /api/v1, so the authorization page cannot be found from it")
    return urlunsplit(parts._replace(path=path.removesuffix("/api/v1") + "/auth", query="", fragment=""))


def _approval(auth_page: str, challenge: str, *, port: int, browser: bool, timeout_s: float) -> str:
    """Send the person to approve, and wait for the authorization code that comes back to the loopback callback."""
    import webbrowser

    from .login_callback import Callback

    try:
        callback = Callback(port)
    except OSError as exc:
        raise Refused(2, f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); choose another --port") from None
    with callback:
        url = f"{auth_page}?{urlencode({'callback_url': callback.url, 'code_challenge': challenge, 'code_challenge_method': 'S256'})}"
        if browser and webbrowser.open(url):
            print(f"Opened your browser to approve openrouter-mcp on OpenRouter. If it did not open, go to:\n\n    {url}\n", file=sys.stderr)
        else:
            print(f"Open this URL in a browser and approve openrouter-mcp:\n\n    {url}\n", file=sys.stderr)
        print(f"Waiting up to {timeout_s:g} s for the approval...", file=sys.stderr, flush=True)
        query = callback.wait(timeout_s)
    if query is None:
        raise Refused(1, f"no approval arrived within {timeout_s:g} s. {AGAIN}")
    if code := query.get("code"):
        return code
    said = "; ".join(f"{k}={v}" for k, v in query.items() if k in ("error", "error_description"))
    raise Refused(1, f"the browser came back without an authorization code{f' ({said})' if said else ''}, so no key was made. {AGAIN}")


# ---------- where the key goes ----------


def _destination(save: Sequence[str] | None, *, print_key: bool) -> Destination:
    """Where the person chose to keep the key, checked before they are sent to approve anything."""
    if print_key:
        return Destination("print")
    if save == ["keyring"]:
        if usable_keyring() is None:
            raise Refused(2, f"--save keyring: {NO_KEYRING}; use --save env-file PATH or --print")
        return Destination("keyring")
    if save:
        return Destination("env-file", _env_file(save[1]))
    if usable_keyring() is not None:
        return Destination("keyring")
    if not sys.stdin.isatty():
        raise Refused(2, f"{NO_KEYRING}; choose --save env-file PATH or --print")
    print(f"{NO_KEYRING[0].upper()}{NO_KEYRING[1:]}.", file=sys.stderr)
    print("Save the key in which env file? (a path, or `print` to show the key here instead): ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline().strip()
    if not answer:
        raise Refused(2, "no place chosen for the key; choose --save env-file PATH or --print")
    return Destination("print") if answer == "print" else Destination("env-file", _env_file(answer))


def _env_file(raw: str) -> Path:
    path = Path(raw).expanduser().absolute()
    if path.is_dir():
        raise Refused(2, f"--save env-file {raw}: that is a folder; name a file")
    if not path.parent.is_dir():
        raise Refused(2, f"--save env-file {raw}: the folder {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK):
        raise Refused(2, f"--save env-file {raw}: cannot write in {path.parent}")
    return path


def usable_keyring() -> ModuleType | None:
    """The `keyring` module, if it is installed and has a real backend (the fallbacks have priority 0 or less);
    also used by `init --keyring`."""
    try:
        keyring = importlib.import_module("keyring")
        real = float(keyring.get_keyring().priority) > 0
    except Exception:  # not installed, or a backend that fails to load (a PYTHON_KEYRING_BACKEND that names none)
        return None
    return keyring if real else None


def _store(destination: Destination, key: Secret) -> None:
    # The key exists on the account from here on: a failure to store it says so, and where to delete it.
    lost = "The key was made but not saved; delete it at https://openrouter.ai/settings/keys and log in again."
    if destination.kind == "print":
        print("Your OpenRouter key (shown this once; keep it somewhere safe):", file=sys.stderr, flush=True)
        print(key.get(), flush=True)
    elif destination.kind == "keyring":
        keyring = usable_keyring()
        assert keyring is not None  # checked before the flow began
        errors = importlib.import_module("keyring.errors")
        try:
            keyring.set_password(KEYRING_SERVICE, KEY_NAME, key.get())
        except errors.KeyringError as exc:
            raise Refused(1, f"the OS keyring refused the key ({type(exc).__name__}). {lost}") from None
        backend = type(keyring.get_keyring()).__name__
        print(f"Saved your OpenRouter key in the keyring ({backend}: service {KEYRING_SERVICE!r}, name {KEY_NAME!r}).", file=sys.stderr, flush=True)
    else:
        assert destination.path is not None
        try:
            _write_env_file(destination.path, key)
        except OSError as exc:
            raise Refused(1, f"cannot write {destination.path} ({exc.strerror}). {lost}") from None
        print(f"Saved your OpenRouter key as {KEY_NAME} in {destination.path} (readable only by you).", file=sys.stderr, flush=True)


def _write_env_file(path: Path, key: Secret) -> None:
    """Set OPENROUTER_API_KEY in the file, keeping its other lines, through a 0600 file renamed into place (so the
    key is never in a file others can read, even for a moment)."""
    from .config_files import write

    kept = [line for line in path.read_text().splitlines() if not _sets_key(line)] if path.exists() else []
    write(path, "\n".join([*kept, f"{KEY_NAME}={key.get()}"]) + "\n", 0o600)


def _sets_key(line: str) -> bool:
    return line.strip().removeprefix("export ").lstrip().startswith(f"{KEY_NAME}=")
