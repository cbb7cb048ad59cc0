"""The built-in benchmark suites: small JSONL files shipped with the package, one prompt per line with
`prompt` and how to score it (`expected`, `schema` and/or `judge_criteria`).

- `reasoning`: eight short word problems (arithmetic, dates, ordering, counting), each with one right
  answer in `expected`; scored by exact or numeric match of the final answer.
- `json`: four extraction tasks (a contact, an invoice, a meeting, a review), each with a JSON `schema`
  and the `expected` field values; scored by schema validity and the share of expected fields right.
- `coding`: three small Python tasks (write, write, fix) with a `judge_criteria` rubric (criteria
  separated by semicolons); graded 1-10 per criterion by the collective toolset's jury.
"""

from __future__ import annotations

from importlib import resources

SUITES: dict[str, str] = {
    "reasoning": "short word problems with one right answer (exact or numeric match)",
    "json": "extraction into JSON: schema validity and expected field values",
    "coding": "small Python tasks graded by a jury against a rubric",
}


def suite_text(name: str) -> str:
    """The JSONL text of a built-in suite (KeyError for an unknown name)."""
    if name not in SUITES:
        raise KeyError(name)
    return resources.files(__package__).joinpath(f"{name}.jsonl").read_text(encoding="utf-8")
