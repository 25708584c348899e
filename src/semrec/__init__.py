"""semrec: recommendations from language-model text and behaviour.

The main entry points:

* :class:`semrec.data.tables.Dataset`: validated items / users / interactions.
* :class:`semrec.recommender.Recommender`: fit, recommend (:class:`~semrec.recommender.Query`), save, load.
* :func:`semrec.evaluation.runner.evaluate`: the evaluation protocols.
"""

from semrec.data.tables import Dataset
from semrec.errors import DataFormatError, QueryError, SemrecError, UnknownIdError
from semrec.recommender import Query, Recommendation, Recommender, RecommenderConfig

__version__ = "0.1.0"

__all__ = [
    "Dataset", "DataFormatError", "Query", "QueryError", "Recommendation", "Recommender",
    "RecommenderConfig", "SemrecError", "UnknownIdError", "__version__",
]  # fmt: skip
