"""Asking the person before an expensive call. A paid call (or a run of them) whose worst case is above
OPENROUTER_MCP_CONFIRM_ABOVE_USD goes ahead only with their consent: asked through the MCP client, or
given up front as a `max_cost_usd` at or above the estimate. The ledger calls `confirm_spend` before
anything is sent; this module knows nothing of MCP: the server sets, per tool call, a `Consent` whose
`ask` puts the question to the person."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal
from typing import Literal, Protocol

from ..errors import ErrorCode, ToolFailure

# "unavailable": the client could not put the question to the person after all.
Answer = Literal["accept", "decline", "cancel", "unavailable"]
Reason = Literal["declined", "cancelled", "cannot_ask"]
SETTING = "OPENROUTER_MCP_CONFIRM_ABOVE_USD"


class Ask(Protocol):
    async def __call__(self, question: str) -> Answer: ...


@dataclass(slots=True)
class Consent:
    """One tool call's consent to spend. `reach` tells, the first time a question is due (most calls
    never ask one), how to put it to the person: an `Ask`, or None and why the client cannot ask;
    `takes_cap` says whether the tool has a max_cost_usd argument (so the refusal can say how to consent);
    `cap_usd` is the max_cost_usd the caller gave (a tool's own default cap is not consent);
    `approved_usd` is the worst case the person already agreed to in this call (later calls of the same
    tool call up to it are not asked again); `open` turns False once the call has answered (a job going on
    in the background can no longer ask)."""

    reach: Callable[[], tuple[Ask | None, str]]
    takes_cap: bool
    cap_usd: Decimal | None = None
    approved_usd: Decimal | None = None
    open: bool = True
    _channel: tuple[Ask | None, str] | None = None

    def channel(self) -> tuple[Ask | None, str]:
        """How to ask the person (`reach`, worked out once): the `Ask`, or None and why it cannot."""
        if self._channel is None:
            self._channel = self.reach()
        return self._channel


SPEND_CONSENT: ContextVar[Consent | None] = ContextVar("openrouter_mcp_consent", default=None)


def dollars(value: Decimal) -> str:
    """An amount as a person reads it in a question: cents, rounded up; below a cent, as many digits as it takes."""
    if value >= Decimal("0.01"):
        return f"${value.quantize(Decimal('0.01'), rounding=ROUND_UP)}"
    return f"${value:.6f}".rstrip("0").rstrip(".")


def question(estimate_usd: Decimal, model: str | None, subject: str = "This") -> str:
    on = f" on {model}" if model else ""
    return f"{subject} may cost up to {dollars(estimate_usd)}{on}. Proceed?"


async def confirm_spend(threshold_usd: Decimal | None, estimate_usd: Decimal, *, model: str | None, subject: str = "This") -> None:
    """Return when the call may go ahead; raise BUDGET_EXCEEDED (nothing sent) when the person declined
    or could not be asked. Only MCP tool calls are asked (a command typed at a terminal is its own consent);
    a max_cost_usd the caller gave at or above the estimate is consent."""
    consent = SPEND_CONSENT.get()
    if threshold_usd is None or consent is None or estimate_usd <= threshold_usd:
        return
    if consent.approved_usd is not None and estimate_usd <= consent.approved_usd:
        return
    if consent.cap_usd is not None and consent.cap_usd >= estimate_usd:
        consent.approved_usd = consent.cap_usd
        return
    asked = question(estimate_usd, model, subject)
    ask, unable = consent.channel() if consent.open else (None, "the call had already become a job")
    if ask is None:
        raise refusal("cannot_ask", asked, estimate_usd, threshold_usd, model, takes_cap=consent.takes_cap, why=unable)
    answer = await ask(asked)
    if answer == "unavailable":
        raise refusal("cannot_ask", asked, estimate_usd, threshold_usd, model, takes_cap=consent.takes_cap, why="this client could not put the question to you")
    if answer != "accept":
        raise refusal("declined" if answer == "decline" else "cancelled", asked, estimate_usd, threshold_usd, model, takes_cap=consent.takes_cap)
    consent.approved_usd = estimate_usd


def refusal(reason: Reason, asked: str, estimate_usd: Decimal, threshold_usd: Decimal, model: str | None, *, takes_cap: bool, why: str = "") -> ToolFailure:
    """BUDGET_EXCEEDED for a call the person declined (or dismissed), or could not be asked about (`why`),
    saying that nothing was sent and how to go ahead."""
    cost = asked.removesuffix(" Proceed?")
    if reason != "cannot_ask":
        what = "You declined" if reason == "declined" else "The question was dismissed"
        message = f"{what}: {cost[0].lower()}{cost[1:]} Nothing was sent to OpenRouter and nothing was billed."
    else:
        if takes_cap:
            how = f"To go ahead, call again with max_cost_usd={float(estimate_usd.quantize(Decimal('0.000001'), rounding=ROUND_UP))} or more: that is your consent."
        else:
            how = f"This tool has no max_cost_usd to consent with: use a client that supports elicitation, or ask the server's operator to raise {SETTING}."
        message = (
            f"{cost} That is above {dollars(threshold_usd)}, the amount this server asks about first ({SETTING}), and {why}. "
            f"Nothing was sent to OpenRouter. {how}"
        )
    return ToolFailure(
        ErrorCode.BUDGET_EXCEEDED,
        message,
        retryable=False,
        details={
            "window": "confirm",
            "budget": "confirm",
            "reason": reason,
            "estimate_usd": float(estimate_usd),
            "cap_usd": float(threshold_usd),
            "model": model,
        },
    )
