"""Builds the Claude Desktop bundle, `dist/openrouter-mcp-<version>.mcpb`, and checks it with the official
mcpb CLI (`mcpb validate`, then `mcpb pack`).

The bundle is of the `uv` server type (manifest spec 0.4): it holds the package source and pyproject.toml,
and the app builds the environment from them with uv, so no dependency is vendored. The manifest is
packaging/mcpb/manifest.json with what pyproject.toml owns filled in: the version and the Python range.

    python scripts/build_mcpb.py [--out DIR]

The CLI is `.mcpb-cli/node_modules/.bin/mcpb` when installed there
(`npm install --prefix .mcpb-cli @anthropic-ai/mcpb@2.1.2`), otherwise the same version through npx."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "packaging" / "mcpb"
MCPB_PACKAGE = "@anthropic-ai/mcpb@2.1.2"
# What uv needs to build the package from the bundle: the project file, the files it names, the source.
PROJECT_FILES = ("pyproject.toml", "README.md", "LICENSE")


def project() -> dict[str, Any]:
    table: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return table


def mcpb_command() -> list[str] | None:
    """The local install under .mcpb-cli/, else npx; None when neither is there."""
    local = ROOT / ".mcpb-cli" / "node_modules" / ".bin" / "mcpb"
    if local.exists():
        return [str(local)]
    if shutil.which("npx"):
        return ["npx", "-y", MCPB_PACKAGE]
    return None


def manifest() -> dict[str, Any]:
    meta = project()
    template: dict[str, Any] = json.loads((TEMPLATE / "manifest.json").read_text())
    rendered: dict[str, Any] = {}
    for key, value in template.items():
        rendered[key] = value
        if key == "name":
            rendered["version"] = meta["version"]
    rendered["compatibility"] = {**template.get("compatibility", {}), "runtimes": {"python": meta["requires-python"]}}
    return rendered


def stage(folder: Path) -> Path:
    """Lays out the bundle's files in `folder` (which must not exist yet) and returns it."""
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(manifest(), indent=2, ensure_ascii=False) + "\n")
    shutil.copy2(TEMPLATE / "icon.png", folder / "icon.png")
    shutil.copytree(TEMPLATE / "server", folder / "server", ignore=shutil.ignore_patterns("__pycache__"))
    for name in PROJECT_FILES:
        shutil.copy2(ROOT / name, folder / name)
    shutil.copytree(ROOT / "src" / "openrouter_mcp", folder / "src" / "openrouter_mcp", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return folder


def run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def build(out_dir: Path, mcpb: list[str]) -> Path:
    """Stages, validates and packs the bundle into `out_dir`; returns the .mcpb file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    bundle = out_dir / f"{project()['name']}-{project()['version']}.mcpb"
    with tempfile.TemporaryDirectory() as tmp:
        staged = stage(Path(tmp) / "bundle")
        run([*mcpb, "validate", str(staged / "manifest.json")])
        run([*mcpb, "pack", str(staged), str(bundle)])
    return bundle


def main() -> int:
    parser = argparse.ArgumentParser(description="Build the Claude Desktop bundle (.mcpb) with the official mcpb CLI.")
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="folder for the .mcpb file (default dist/)")
    args = parser.parse_args()
    mcpb = mcpb_command()
    if mcpb is None:
        print(f"the mcpb CLI is needed: npm install --prefix .mcpb-cli {MCPB_PACKAGE} (or install npx)", file=sys.stderr)
        return 1
    try:
        bundle = build(args.out, mcpb)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(bundle)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
