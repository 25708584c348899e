"""semrec: recommendations from language-model text and behaviour.

The main entry points:

* :class:`semrec.data.tables.Dataset`: validated items / users / interactions.
* :class:`semrec.pipeline.Recommender`: fit, recommend (:class:`~semrec.types.Query`), save, load.
* :func:`semrec.evaluation.runner.evaluate`: the evaluation protocols, through the same pipeline.
"""

from semrec.config import RecommenderConfig
from semrec.data.tables import Dataset
from semrec.errors import DataFormatError, QueryError, SemrecError, UnknownIdError
from semrec.pipeline import Recommender
from semrec.types import Query, Recommendation

__version__ = "0.1.0"

__all__ = [
    "DataFormatError",
    "Dataset",
    "Query",
    "QueryError",
    "Recommendation",
    "Recommender",
    "RecommenderConfig",
    "SemrecError",
    "UnknownIdError",
    "__version__",
]
