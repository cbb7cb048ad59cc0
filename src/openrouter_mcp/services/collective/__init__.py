"""Collective intelligence: several models (or samples of one) answer and their answers are combined by published methods (voting, Mixture-of-Agents, juries of judges, debate); knows nothing of MCP."""

from .answers import decided, detect_answer_type, extract, extract_choice, extract_number, option_letters, vote_weight
from .consensus import ConsensusResult, consensus, plan_consensus
from .debate import DebateResult, debate, plan_debate
from .fanout import Failure, Limits, ModelAnswer, ProgressFn, RunTotals, chat_body, check_models
from .history import PRIOR_STRENGTH, AgreementHistory, accuracy_estimates
from .jury import JuryPlan, ValidationResult, jury_requests, plan_jury, validate, verdict_format
from .moa import EnsembleResult, ensemble, parse_plan, plan_ensemble, plan_schema

__all__ = [
    "PRIOR_STRENGTH",
    "AgreementHistory",
    "ConsensusResult",
    "DebateResult",
    "EnsembleResult",
    "Failure",
    "JuryPlan",
    "Limits",
    "ModelAnswer",
    "ProgressFn",
    "RunTotals",
    "ValidationResult",
    "accuracy_estimates",
    "chat_body",
    "check_models",
    "consensus",
    "debate",
    "decided",
    "detect_answer_type",
    "ensemble",
    "extract",
    "extract_choice",
    "extract_number",
    "jury_requests",
    "option_letters",
    "parse_plan",
    "plan_consensus",
    "plan_debate",
    "plan_ensemble",
    "plan_jury",
    "plan_schema",
    "validate",
    "verdict_format",
    "vote_weight",
]
