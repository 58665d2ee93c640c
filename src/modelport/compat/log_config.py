"""``azureml_inference_server_http.log_config``: the names a ``logging.json`` written for the
original server refers to, so such a file configures modelport's server unchanged."""

from __future__ import annotations

import logging
import time

__all__ = ["AZMLINFSRV_FORMAT", "AMLLogFormatter", "RootAccessFilter"]

# the original's line layout: date (UTC), one-letter level, pid, logger name
AZMLINFSRV_FORMAT = "%(asctime)s %(levelname).1s [%(process)d] %(name)s - %(message)s"


class AMLLogFormatter(logging.Formatter):
    """The original's formatter: its layout, timestamps in UTC."""

    def __init__(
        self, fmt: str = AZMLINFSRV_FORMAT, datefmt: str | None = None, style: str = "%"
    ) -> None:
        super().__init__(fmt=fmt, datefmt=datefmt, style=style)  # type: ignore[arg-type]
        self.converter = time.gmtime


class RootAccessFilter(logging.Filter):
    """Drops access lines of health probes (``GET /``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "GET / HTTP/1.1" not in message and not message.startswith("GET / ")
