"""The base of every semrec configuration."""

from pydantic import BaseModel, ConfigDict


class FrozenConfig(BaseModel):
    """A pydantic model that is frozen (hashable, safe to share between requests and threads) and
    refuses unknown fields (a misspelt option is an error, not a silent default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
