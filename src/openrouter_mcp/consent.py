"""How a spend question (services/confirm.py) reaches the person: MCP elicitation, in whichever form the
protocol era of the call has. Handshake-era clients (up to 2025-11-25) get an `elicitation/create`
request in the middle of the call. From 2026-07-28 there are no server-to-client requests: the call
answers `input_required` with the question, and the client calls again with the answer
(`inputResponses`), which the re-run call finds under a key made from the question itself, so the answer
fits only the question it was given (same cost, same model) on whichever replica the retry reaches, with
no state kept in between. Followed: modelcontextprotocol/modelcontextprotocol
docs/specification/2026-07-28/client/elicitation.mdx and basic/patterns/mrtr.mdx (see
docs/decisions/0014-consent-prompts-resources.md)."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from mcp.shared.exceptions import MCPError
from mcp_types import ElicitRequest, ElicitRequestFormParams, ElicitResult, InputRequiredResult
from mcp_types.version import is_version_at_least

from .services.confirm import Answer, Ask, Consent

FIRST_INPUT_REQUIRED_VERSION = "2026-07-28"
KEY_PREFIX = "openrouter-mcp/confirm-spend-"
# One yes/no field: form elicitation has no bare confirm, and an accepted form may carry `proceed: false`.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"proceed": {"type": "boolean", "title": "Proceed", "description": "Send this paid request to OpenRouter", "default": True}},
}


class InputNeeded(Exception):
    """The question must go back to the client as an `input_required` result (2026-07-28 and later);
    the tool call is re-run when the client answers."""

    def __init__(self, key: str, request: ElicitRequest) -> None:
        super().__init__(key)
        self.key = key
        self.request = request

    def result(self) -> InputRequiredResult:
        return InputRequiredResult(input_requests={self.key: self.request})


def _modern(context: Any) -> bool:
    version = getattr(context, "protocol_version", None)
    return isinstance(version, str) and is_version_at_least(version, FIRST_INPUT_REQUIRED_VERSION)


def unable_to_ask(context: Any) -> str | None:
    """Why this call's client cannot be asked, or None when it can: it must declare form elicitation and
    be reachable with the question (a handshake-era call over stateless HTTP has no channel for a
    server-to-client request)."""
    try:
        if not _modern(context) and not context.session.can_send_request:
            return "this server cannot send this client a question over stateless HTTP (a client of protocol 2026-07-28 can be asked)"
        capabilities = context.client_capabilities
        elicitation = capabilities.elicitation if capabilities is not None else None
        if elicitation is None or (elicitation.form is None and elicitation.url is not None):
            return "this client cannot ask you (it does not support elicitation)"
        return None
    except (AttributeError, ValueError, LookupError):  # no request in progress
        return "there is no client to ask"


def _answer(result: object) -> Answer:
    if not isinstance(result, ElicitResult):
        return "cancel"
    if result.action == "accept":
        return "decline" if (result.content or {}).get("proceed") is False else "accept"
    return result.action


def asker(context: Any) -> Ask:
    async def ask(question: str) -> Answer:
        if _modern(context):
            key = KEY_PREFIX + hashlib.sha256(question.encode()).hexdigest()[:16]
            answer = (context.input_responses or {}).get(key)
            if answer is None:
                raise InputNeeded(key, ElicitRequest(params=ElicitRequestFormParams(message=question, requested_schema=SCHEMA)))
            return _answer(answer)
        try:
            result = await context.session.elicit_form(message=question, requested_schema=SCHEMA, related_request_id=context.request_id)
        except MCPError:  # the client answered the question with an error: it could not ask
            return "unavailable"
        return _answer(result)

    return ask


def consent_for(context: Any, arguments: dict[str, Any], *, takes_cap: bool) -> Consent:
    """The consent state of one tool call: able to ask when its client can be asked, and consenting up to
    the max_cost_usd its caller gave (read from the call itself: a tool's default cap is not consent)."""
    given = arguments.get("max_cost_usd") if takes_cap else None
    cap = Decimal(repr(given)) if isinstance(given, int | float) and not isinstance(given, bool) and given > 0 else None

    def reach() -> tuple[Ask | None, str]:
        unable = unable_to_ask(context) if context is not None else "there is no client to ask"
        return (asker(context), "") if unable is None else (None, unable)

    return Consent(reach=reach, takes_cap=takes_cap, cap_usd=cap)
