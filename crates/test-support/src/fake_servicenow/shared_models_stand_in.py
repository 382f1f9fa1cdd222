"""Stand-in for the Python system's `shared_models` package, whose only use by
its mock ServiceNow is `configure_logging(name)`: a structlog-style logger
(`logger.info("event", key=value, ...)`) writing one line per event to stderr.
Written as `shared_models/__init__.py` beside the mock by
crates/test-support/src/fake_servicenow/python_mock.rs.
"""

import logging
import sys


class _Logger:
    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(name)

    def _log(self, level: int, event: str, **fields: object) -> None:
        pairs = " ".join(f"{key}={value}" for key, value in fields.items())
        self._logger.log(level, "%s %s", event, pairs)

    def debug(self, event: str, **fields: object) -> None:
        self._log(logging.DEBUG, event, **fields)

    def info(self, event: str, **fields: object) -> None:
        self._log(logging.INFO, event, **fields)

    def warning(self, event: str, **fields: object) -> None:
        self._log(logging.WARNING, event, **fields)

    def error(self, event: str, **fields: object) -> None:
        self._log(logging.ERROR, event, **fields)


def configure_logging(name: str) -> _Logger:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    return _Logger(name)
