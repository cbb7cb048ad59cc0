"""The commands a user runs first (demo, doctor, a bad setting) and the settings they rely on."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from openrouter_mcp.config import ConfigError, load_settings


def run(args: list[str], home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    base["OPENROUTER_MCP_HOME"] = str(home)
    base.update(env)
    return subprocess.run([sys.executable, "-m", "openrouter_mcp", *args], env=base, capture_output=True, text=True, timeout=120)


def test_demo_lists_tools_and_makes_a_call(tmp_path: Path) -> None:
    out = run(["demo"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "chat_completion" in out.stdout and "tools:" in out.stdout
    assert "Simulated reply from openai/gpt-4o-mini" in out.stdout
    assert "cost         $" in out.stdout and "generation   gen-" in out.stdout


def test_doctor_on_the_simulator_passes(tmp_path: Path) -> None:
    out = run(["doctor", "--simulate"], tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "All checks passed." in out.stdout
    assert "sk-or-sim-local-0000" not in out.stdout + out.stderr


def test_doctor_shows_only_the_last_four_characters_of_the_key(simulator: object, tmp_path: Path) -> None:
    key = "sk-or-v1-secretsecretsecret9876"
    out = run(["doctor"], tmp_path, OPENROUTER_API_KEY=key, OPENROUTER_BASE_URL=simulator.api_url)  # type: ignore[attr-defined]
    assert out.returncode == 0, out.stdout
    assert "…9876" in out.stdout
    assert key not in out.stdout + out.stderr and "secret" not in out.stdout + out.stderr


def test_doctor_says_what_to_fix(tmp_path: Path) -> None:
    out = run(["doctor"], tmp_path)
    assert out.returncode == 1
    assert "OPENROUTER_API_KEY is not set" in out.stdout and "--simulate" in out.stdout
    bad_key = run(["doctor"], tmp_path, OPENROUTER_API_KEY="sk-or-invalid-0000000000", OPENROUTER_BASE_URL="http://127.0.0.1:9/api/v1", OPENROUTER_MCP_RETRY_MAX_WAIT_S="0.5")
    assert bad_key.returncode == 1 and "[FIX] base url" in bad_key.stdout


def test_a_bad_setting_stops_the_server_with_the_allowed_values(tmp_path: Path) -> None:
    out = run(["serve"], tmp_path, OPENROUTER_API_KEY="sk-or-v1-x", OPENROUTER_PROVIDER_SORT="fastest")
    assert out.returncode == 2
    assert "OPENROUTER_PROVIDER_SORT='fastest'" in out.stderr and "price, throughput, latency" in out.stderr
    assert out.stdout == ""


def test_provider_defaults_and_budgets_are_parsed() -> None:
    s = load_settings(
        {
            "OPENROUTER_API_KEY": "sk-or-v1-abcdefgh",
            "OPENROUTER_MCP_HOME": "/tmp/orm-test",
            "OPENROUTER_PROVIDER_ORDER": "anthropic, openai",
            "OPENROUTER_PROVIDER_QUANTIZATIONS": "FP8,bf16",
            "OPENROUTER_PROVIDER_ALLOW_FALLBACKS": "false",
            "OPENROUTER_PROVIDER_MAX_PRICE": "prompt=1,completion=2.5",
            "OPENROUTER_PROVIDER_DATA_COLLECTION": "deny",
            "OPENROUTER_MCP_DAILY_BUDGET_USD": "2.50",
            "OPENROUTER_MCP_TOOLSETS": "chat,usage",
        }
    )
    assert s.provider_defaults == {"order": ["anthropic", "openai"], "quantizations": ["fp8", "bf16"], "allow_fallbacks": False, "max_price": {"prompt": 1.0, "completion": 2.5}, "data_collection": "deny"}
    assert s.daily_budget_usd == Decimal("2.50") and s.monthly_budget_usd is None
    assert s.toolsets == ("chat", "usage")
    assert "abcdefgh" not in repr(s)


def test_provider_lists_take_a_json_array_or_a_comma_list() -> None:
    base = {"OPENROUTER_API_KEY": "sk-or-v1-abcdefgh", "OPENROUTER_MCP_HOME": "/tmp/orm-test"}
    lists = {
        "ORDER": ("order", "anthropic", "openai"),
        "ONLY": ("only", "azure", "openai"),
        "IGNORE": ("ignore", "deepinfra", "together"),
        "QUANTIZATIONS": ("quantizations", "fp8", "bf16"),
    }
    as_json = {f"OPENROUTER_PROVIDER_{k}": f'[" {a}", "{b.upper()}"]' for k, (_, a, b) in lists.items()}
    as_csv = {f"OPENROUTER_PROVIDER_{k}": f"{a}, {b.upper()}" for k, (_, a, b) in lists.items()}
    expected = {key: [a, b.lower() if key == "quantizations" else b.upper()] for key, a, b in lists.values()}
    assert load_settings({**base, **as_json}).provider_defaults == expected == load_settings({**base, **as_csv}).provider_defaults
    assert load_settings({**base, "OPENROUTER_PROVIDER_ORDER": "[]"}).provider_defaults == {}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OPENROUTER_PROVIDER_QUANTIZATIONS": "fp9"}, "fp9 not allowed"),
        ({"OPENROUTER_PROVIDER_ZDR": "maybe"}, "expected true or false"),
        ({"OPENROUTER_MAX_TOKENS": "0"}, "greater than 0"),
        ({"OPENROUTER_MCP_DAILY_BUDGET_USD": "lots"}, "amount in USD"),
        ({"OPENROUTER_BASE_URL": "openrouter.ai"}, "http(s) URL"),
        ({"OPENROUTER_MCP_TOOLSETS": "chat,magic"}, "magic not allowed"),
        ({"OPENROUTER_OUTPUT_DIR": "/"}, "root folder is not allowed"),
        ({"OPENROUTER_MCP_DATABASE_URL": "mysql://x"}, "unsupported scheme"),
        ({"OPENROUTER_PROVIDER_IGNORE": '["deepinfra",]'}, "_IGNORE='.*': not a valid JSON array (.* at character 1.*or a comma list such as deepinfra"),
        ({"OPENROUTER_PROVIDER_ONLY": "[1, 2]"}, "_ONLY='.*': not a valid JSON array (not an array of strings); write a JSON array of strings"),
        ({"OPENROUTER_PROVIDER_QUANTIZATIONS": '["fp8","fp9"]'}, "fp9 not allowed"),
        ({"OPENROUTER_DEFAULT_VIDEO_GEN_MODEL": "sora"}, "OPENROUTER_DEFAULT_VIDEO_GEN_MODEL='sora': expected a model id"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings({"OPENROUTER_API_KEY": "sk-or-v1-abcdefgh", "OPENROUTER_MCP_HOME": "/tmp/orm-test", **env})


def test_start_up_imports_nothing_heavy() -> None:
    code = "import sys, openrouter_mcp.server, openrouter_mcp.cli; print(sorted(m for m in ('httpx', 'httpcore', 'openrouter', 'asyncpg', 'PIL', 'jsonschema', 'sqlite3') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_serving_http_on_a_busy_port_says_so_without_a_traceback(tmp_path: Path) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        out = run(["serve", "--http", "--simulate", "--port", str(port)], tmp_path)
    assert out.returncode == 2, out.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in out.stderr and "--port" in out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_usage_days_out_of_range_names_the_range(tmp_path: Path) -> None:
    for days, said in (("0", "0 is out of range: use 1 to 366"), ("x", "'x' is not a whole number of days (1 to 366)")):
        out = run(["usage", "--days", days], tmp_path)
        assert out.returncode == 2 and said in out.stderr, out.stderr
        assert "366" in out.stderr and "365," not in out.stderr  # the range, not every allowed value
