"""The web dashboard in a real headless Chromium, against `serve --http` on the simulator with three
users (ann and bob, ada the admin) who made real calls through the MCP client: sign in with a token into
an HttpOnly, SameSite=Strict cookie; the spend chart, budgets, jobs, benchmark runs (opening the HTML
report) and the paged calls; every figure equal to what get_usage_stats returns to the same user for the
same range; an admin filters by user; a user who is not an admin never sees another user's rows, also by
editing the URL; and no page requests anything outside the server's origin. Screenshots of each page are
saved (the folder is printed)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from openrouter_mcp.render.charts import SPEND_BG
from openrouter_mcp.simulator.server import RunningSimulator
from openrouter_mcp.storage import open_storage

from .conftest import HttpServer, server_env
from .test_dashboard_chromium import Browser, artifacts_dir, need_chromium

pytestmark = pytest.mark.timeout(600)

MODEL_A, MODEL_B = "openai/gpt-4o-mini", "anthropic/claude-3.5-haiku"
BOB_CALLS = 24  # with ann's and the benchmark's, more than a page of calls for the admin


@asynccontextmanager
async def user_client(url: str, token: str) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(120, read=300))
    async with http, Client(streamable_http_client(url, http_client=http), read_timeout_seconds=300) as client:
        yield client


@dataclass
class Team:
    server: HttpServer
    tokens: dict[str, str]
    shots: Path

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def client(self, user: str) -> Any:
        return user_client(self.server.url, self.tokens[user])


async def _seed(team: Team) -> None:
    async with team.client("ann") as ann:
        for model in (MODEL_A, MODEL_A, MODEL_B):
            result = await ann.call_tool("chat_completion", {"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": "Say hi."}]})
            assert not result.is_error, result.content
        # A benchmark that goes on as a job, so the jobs page has one with its progress.
        started = await ann.call_tool(
            "benchmark_models", {"models": ["bench/swift", "bench/steady"], "prompts": ["Count to three."], "runs": 1, "warmup": 0, "wait_seconds": 0.01}
        )
        assert started.is_error and started.structured_content["error"]["code"] == "JOB_PENDING", started.content
        job_id = started.structured_content["error"]["details"]["job_id"]
        for _ in range(300):
            job = await ann.call_tool("get_job", {"job_id": job_id})
            if job.structured_content["status"] != "running":
                break
            await asyncio.sleep(0.1)
        assert job.structured_content["status"] == "succeeded", job.structured_content
    async with team.client("bob") as bob:
        for i in range(BOB_CALLS):
            result = await bob.call_tool("chat_completion", {"model": MODEL_B, "max_tokens": 30, "messages": [{"role": "user", "content": f"Number {i}."}]})
            assert not result.is_error, result.content


@pytest.fixture(scope="module")
def team(simulator: RunningSimulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    need_chromium()
    home = tmp_path_factory.mktemp("dashboard-home")
    url = f"sqlite:///{home / 'team.db'}"
    tokens = {name: "orm_" + secrets.token_urlsafe(32) for name in ("ann", "bob", "ada")}

    async def add_users() -> None:
        storage = await open_storage(url)
        try:
            await storage.add_user("ann", token=tokens["ann"], daily_budget_usd=Decimal("0.05"), monthly_budget_usd=Decimal("1"))
            await storage.add_user("bob", token=tokens["bob"])
            await storage.add_user("ada", token=tokens["ada"], admin=True)
        finally:
            await storage.close()

    asyncio.run(add_users())
    env = server_env(simulator, home, OPENROUTER_MCP_DATABASE_URL=url, OPENROUTER_MCP_DAILY_BUDGET_USD="2", OPENROUTER_MCP_MONTHLY_BUDGET_USD="20")
    server = HttpServer(env, home / "server.log")
    try:
        built = Team(server, tokens, artifacts_dir(tmp_path_factory, "dashboard"))
        asyncio.run(_seed(built))
        yield built
    finally:
        server.stop()
        log = (home / "server.log").read_text(errors="replace")
        assert not any(token in log for token in tokens.values()), "a bearer token reached the server log"


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    b = Browser(tmp_path / "profile")
    try:
        yield b
    finally:
        b.close()


def sign_in(browser: Browser, team: Team, user: str) -> None:
    browser.open(f"{team.origin}/dashboard")
    assert browser.text("h1") == "openrouter-mcp dashboard"
    browser.submit(f"document.getElementById('token').value = {team.tokens[user]!r}; document.getElementById('sign-in').click()")
    assert browser.text("#signed-in") is not None and browser.text("#signed-in").startswith(user), browser.text("body")  # type: ignore[union-attr]


def shown_figures(browser: Browser) -> dict[str, Any]:
    return {
        "cost": browser.text("#total-cost b"),
        "requests": browser.text("#total-requests b"),
        "tokens": browser.text("#total-tokens b"),
        "errors": browser.text("#total-errors b"),
        "days": browser.rows("days"),
        "models": browser.rows("models"),
    }


def expected_figures(stats: dict[str, Any]) -> dict[str, Any]:
    """What the page must show for one get_usage_stats result, formatted as the tools' texts print money."""
    s = stats["summary"]
    return {
        "cost": f"${s['total_cost']:.6f}",
        "requests": str(s["total_requests"]),
        "tokens": str(s["total_tokens"]),
        "errors": str(s["total_errors"]),
        "days": [[d["date"], str(d["requests"]), str(d["errors"]), str(d["total_tokens"]), f"${d['total_cost']:.6f}"] for d in reversed(stats["data"])],
        "models": [[g["model"], str(g["requests"]), str(g["errors"]), str(g["tokens"]), f"${g['cost']:.6f}"] for g in stats["by_model"]],
    }


async def usage_of(team: Team, caller: str, **args: Any) -> dict[str, Any]:
    async with team.client(caller) as client:
        result = await client.call_tool("get_usage_stats", args)
    assert not result.is_error, result.content
    return dict(result.structured_content)


def assert_same_origin(browser: Browser, team: Team) -> None:
    foreign = [u for u in browser.requests if not u.startswith(team.origin + "/") and not u.startswith(("data:", "about:"))]
    assert browser.requests and not foreign, foreign
    # Nothing refused by the page's policy (a refused load would show here), nothing blocked.
    assert not [e for e in browser.console_errors() if "Content Security Policy" in e or "Refused" in e or "blocked" in e], browser.console_errors()


def chart_area(png: Path) -> tuple[int, int, int, int] | None:
    from PIL import Image, ImageChops

    image = Image.open(png).convert("RGB")
    color = tuple(int(SPEND_BG[i : i + 2], 16) for i in (1, 3, 5))
    mask = ImageChops.difference(image, Image.new("RGB", image.size, color)).convert("L").point(lambda v: 255 if v == 0 else 0)
    return mask.getbbox()  # type: ignore[no-any-return]


async def test_a_user_signs_in_and_sees_their_own_spend_and_budgets(team: Team, browser: Browser) -> None:
    browser.open(f"{team.origin}/dashboard")
    browser.screenshot(team.shots / "01-sign-in.png")
    browser.submit("document.getElementById('token').value = 'orm_not-a-real-token'; document.getElementById('sign-in').click()")
    assert "not valid" in (browser.text("#sign-in-error") or "")
    sign_in(browser, team, "ann")
    # The session is an HttpOnly, SameSite=Strict cookie the page's scripts cannot read.
    (cookie,) = [c for c in browser.cookies() if c["name"] == "orm_dashboard"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/dashboard" and team.tokens["ann"] not in cookie["value"]
    assert browser.js("document.cookie") == ""

    expected = expected_figures(await usage_of(team, "ann"))
    assert shown_figures(browser) == expected
    assert int(expected["requests"]) == 5  # three chats and the benchmark's two calls
    assert browser.js("document.querySelectorAll('#spend-chart rect[fill]').length") > 2
    assert browser.js("document.querySelectorAll('#spend-chart .budget').length") == 1  # ann's daily budget
    budgets = browser.rows("budgets")
    assert [row[0] for row in budgets] == ["ann"]  # neither the others nor the server's total
    assert budgets[0][2] == "$0.05" and budgets[0][6] == "$1.00"
    png = browser.screenshot(team.shots / "02-spend-ann.png")
    area = chart_area(png)
    assert area is not None and area[2] - area[0] >= 500 and area[3] - area[1] >= 150, area

    # A range of one's own: the figures follow it, still equal to the tool's.
    today = expected["days"][0][0]
    browser.open(f"{team.origin}/dashboard?start={today}&end={today}")
    assert shown_figures(browser) == expected_figures(await usage_of(team, "ann", start_date=today, end_date=today))
    assert_same_origin(browser, team)


async def test_a_user_who_is_not_an_admin_never_sees_another_users_rows(team: Team, browser: Browser, tmp_path: Path) -> None:
    sign_in(browser, team, "ann")
    for path in ("/dashboard?user=bob", "/dashboard/calls?user=bob", "/dashboard/jobs?user=bob", "/dashboard/benchmarks?user=bob"):
        browser.open(team.origin + path)
        assert "only an admin" in (browser.text("#refused") or ""), path
        assert "bob" not in (browser.text("main") or "") and not browser.rows("calls"), path
    browser.screenshot(team.shots / "03-refused-ann.png")
    # The user filter is not even offered.
    browser.open(f"{team.origin}/dashboard/calls")
    assert browser.js("document.getElementById('user-filter')") is None
    calls = browser.rows("calls")
    assert len(calls) == 5 and {row[2] for row in calls} <= {MODEL_A, MODEL_B, "bench/swift", "bench/steady"}
    assert all(row[1] != "chat_completion" or "Number" not in row[2] for row in calls)
    browser.screenshot(team.shots / "04-calls-ann.png")

    # Bob cannot open ann's benchmark report, even with its address.
    browser.open(f"{team.origin}/dashboard/benchmarks")
    link = browser.js("document.querySelector('#runs a').getAttribute('href')")
    bob = Browser(tmp_path / "profile-bob")  # a second browser, bob's
    try:
        sign_in(bob, team, "bob")
        bob.open(team.origin + link)
        assert bob.text("h1") == "No such benchmark run"
        bob.open(f"{team.origin}/dashboard/benchmarks")
        assert bob.rows("runs") == []
        bob.open(f"{team.origin}/dashboard/jobs")
        assert bob.rows("jobs") == []
        assert_same_origin(bob, team)
    finally:
        bob.close()
    assert_same_origin(browser, team)


async def test_jobs_benchmarks_and_the_report(team: Team, browser: Browser) -> None:
    sign_in(browser, team, "ann")
    browser.submit("[...document.querySelectorAll('nav a')].find(a => a.textContent === 'Jobs').click()")
    (job,) = browser.rows("jobs")
    assert job[1] == "benchmark_models" and job[2] == "succeeded"
    browser.screenshot(team.shots / "05-jobs-ann.png")
    browser.submit("[...document.querySelectorAll('nav a')].find(a => a.textContent === 'Benchmarks').click()")
    (run,) = browser.rows("runs")
    assert run[3] in ("bench/swift", "bench/steady") and run[4] == "2"
    browser.screenshot(team.shots / "06-benchmarks-ann.png")
    browser.submit("document.querySelector('#runs a').click()")
    assert browser.js("!!document.getElementById('latency-chart') && !!document.getElementById('ranking')")
    assert len(browser.rows("ranking")) == 2
    browser.screenshot(team.shots / "07-report-ann.png")
    assert_same_origin(browser, team)


async def test_an_admin_sees_everyone_and_filters_by_user(team: Team, browser: Browser) -> None:
    sign_in(browser, team, "ada")
    assert shown_figures(browser) == expected_figures(await usage_of(team, "ada"))
    budgets = browser.rows("budgets")
    assert [row[0] for row in budgets] == ["server (everyone)", "ada", "ann", "bob"]
    assert budgets[0][2] == "$2.00" and budgets[0][6] == "$20.00"
    assert browser.js("document.querySelectorAll('#spend-chart .budget').length") == 1  # the server's daily budget
    browser.screenshot(team.shots / "08-spend-admin.png")

    # Filter by bob with the form, as a person would.
    browser.submit("document.getElementById('user-filter').value = 'bob'; document.querySelector('form.filters').submit()")
    assert "user=bob" in browser.js("location.search")
    assert shown_figures(browser) == expected_figures(await usage_of(team, "ada", user="bob"))
    assert shown_figures(browser) == expected_figures(await usage_of(team, "bob"))
    assert [row[0] for row in browser.rows("budgets")] == ["server (everyone)", "bob"]
    browser.screenshot(team.shots / "09-spend-admin-bob.png")

    # Stacked by user: one stack per user who spent, the legend naming them.
    browser.open(f"{team.origin}/dashboard?stack=user")
    legend = browser.js("[...document.querySelectorAll('.legend li')].map(li => li.textContent)")
    assert sorted(legend) == ["ann", "bob"]
    assert shown_figures(browser) == expected_figures(await usage_of(team, "ada"))
    browser.screenshot(team.shots / "10-spend-admin-by-user.png")

    # Everyone's calls, a page at a time.
    browser.open(f"{team.origin}/dashboard/calls")
    first = browser.rows("calls")
    assert len(first) == 25 and {row[1] for row in first} <= {"ann", "bob"}
    browser.screenshot(team.shots / "11-calls-admin.png")
    browser.submit("document.getElementById('older').click()")
    second = browser.rows("calls")
    assert len(first) + len(second) == 5 + BOB_CALLS and first[-1][0] >= second[0][0]
    browser.open(f"{team.origin}/dashboard/jobs")
    assert [row[1] for row in browser.rows("jobs")] == ["ann"]
    assert_same_origin(browser, team)

    browser.submit("document.querySelector('nav form button').click()")
    assert browser.text("h1") == "openrouter-mcp dashboard"
    assert not [c for c in browser.cookies() if c["name"] == "orm_dashboard"]


async def test_every_page_carries_a_strict_policy_and_refuses_without_a_session(team: Team) -> None:
    async with httpx2.AsyncClient(base_url=team.origin) as http:
        page = await http.get("/dashboard")
        assert page.status_code == 200 and "sign-in" in page.text
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy and "frame-ancestors 'none'" in policy
        assert "http" not in page.text.split("<body>", 1)[1].replace(team.origin, "")
        refused = await http.get("/dashboard/calls?user=ann")
        assert refused.status_code == 401 and "ann" not in refused.text.split("<body>", 1)[1]
        forged = await http.get("/dashboard", headers={"Cookie": "orm_dashboard=gAAAAAforged"})
        assert forged.status_code == 401
        # A page of another site cannot post a sign-in (the Origin check answers first).
        cross = await http.post("/dashboard/login", data={"token": team.tokens["ann"]}, headers={"Origin": "https://evil.example"})
        assert cross.status_code == 403 and "set-cookie" not in cross.headers
