"""The `destination-databricks` console script: protocol messages on stdout, a TRACE and exit 1 on failure."""
from __future__ import annotations

import logging
import sys

from airbyte_cdk.logger import AirbyteLogFormatter
from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from .messages import Output


class _ProtocolLogHandler(logging.Handler):
    """Logs as LOG messages on the shared stdout, secrets masked by the CDK's formatter."""

    def __init__(self, output: Output):
        super().__init__()
        self.output = output
        self.setFormatter(AirbyteLogFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.output.line(self.format(record))
        except Exception:  # logging must never break a sync
            self.handleError(record)


def _trace(output: Output, exc: BaseException) -> None:
    import orjson
    from airbyte_cdk.models import AirbyteMessageSerializer

    if not isinstance(exc, AirbyteTracedException):
        exc = AirbyteTracedException(
            message=f"The connector failed: {type(exc).__name__}: {exc}",
            internal_message=str(exc),
            failure_type=FailureType.system_error,
            exception=exc,
        )
    message = AirbyteMessageSerializer.dump(exc.as_airbyte_message())
    output.line(filter_secrets(orjson.dumps(message).decode()))


def run(args: list[str] | None = None) -> None:
    output = Output()
    root = logging.getLogger()
    root.handlers[:] = [_ProtocolLogHandler(output)]
    root.setLevel(logging.INFO)
    from .destination import DestinationDatabricks

    try:
        DestinationDatabricks(output).execute(sys.argv[1:] if args is None else args)
    except SystemExit:
        raise
    except BaseException as exc:  # every failure leaves as one TRACE message and exit code 1
        if isinstance(exc, KeyboardInterrupt):
            raise
        _trace(output, exc)
        sys.exit(1)


if __name__ == "__main__":
    run()
