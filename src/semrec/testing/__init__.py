"""Public test kit: the pipeline contract (:mod:`semrec.testing.contract`) and a real-server harness."""

from semrec.testing.contract import ROUTES, check_pipeline
from semrec.testing.server import KEY, Server, fit_tiny, free_port

__all__ = ["KEY", "ROUTES", "Server", "check_pipeline", "fit_tiny", "free_port"]
