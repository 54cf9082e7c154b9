"""The `destination-databricks` console script: protocol messages on stdout, a TRACE and exit 1 on failure."""
from __future__ import annotations

import argparse
import logging
import sys

from .messages import Output


class _ProtocolLogHandler(logging.Handler):
    """Log records become LOG messages on the shared stdout, secrets masked."""

    def __init__(self, output: Output):
        super().__init__()
        self.output = output

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level = {"WARNING": "WARN", "CRITICAL": "FATAL"}.get(record.levelname, record.levelname)
            self.output.log(level, self.format(record))
        except Exception:  # logging must never break a sync
            self.handleError(record)


def _write_args(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="destination-databricks write")
    parser.add_argument("--config", required=True, help="path to the JSON configuration file")
    parser.add_argument("--catalog", required=True, help="path to the configured catalog JSON file")
    return parser.parse_args(args)


def run(args: list[str] | None = None) -> None:
    args = sys.argv[1:] if args is None else args
    output = Output()
    root = logging.getLogger()
    root.handlers[:] = [_ProtocolLogHandler(output)]
    root.setLevel(logging.INFO)
    for noisy in ("azure", "botocore", "urllib3", "databricks.sql", "databricks.sdk"):  # one line per HTTP request otherwise
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        if args[:1] == ["write"]:
            # The hot path skips airbyte-cdk entirely: importing it costs about 2 s per sync.
            from .write import write

            parsed = _write_args(args[1:])
            write(parsed.config, parsed.catalog, sys.stdin.buffer, output)
        else:
            from .destination import DestinationDatabricks

            DestinationDatabricks(output).execute(args)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:  # every failure leaves as one TRACE message and exit code 1
        output.error(exc)
        sys.exit(1)


if __name__ == "__main__":
    run()
