"""Model benchmarks: the prompts and their scoring (`quality`, `suites`), the runs (`runner`), the
statistics and ranking (`stats`) and the reports (`report`)."""

from . import quality as quality
from . import report as report
from . import runner as runner
from . import stats as stats
