"""OpenRouter's model catalog: its entries (`entries`), the cached copy (`store`, built by `App`),
search (`search`), one model in depth (`model_info`), retired ids (`retired`), the closest ids to a
wrong one (`suggest`) and the free models with their quota (`free`, imported as a module by its tools)."""

from .entries import VARIANTS as VARIANTS
from .entries import ModelInfo as ModelInfo
from .entries import Snapshot as Snapshot
from .entries import catalog_state as catalog_state
from .model_info import endpoints as endpoints
from .model_info import pricing_of as pricing_of
from .model_info import require_usable as require_usable
from .model_info import resolve as resolve
from .model_info import variants_for as variants_for
from .search import FEATURES as FEATURES
from .search import SORTS as SORTS
from .search import SearchQuery as SearchQuery
from .search import Sort as Sort
from .search import date_of as date_of
from .search import features_of as features_of
from .search import search as search
