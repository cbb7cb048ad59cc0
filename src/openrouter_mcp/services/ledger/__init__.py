"""The spend ledger: who is calling (`caller`), and every paid call written exactly once with the budgets
guarded before it starts (`paid`, built by `App` on first use so that start-up does not load storage)."""

from .caller import CALLER as CALLER
