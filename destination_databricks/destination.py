"""spec / check / discover through airbyte-cdk's Destination; `write` lives in write.py (no CDK import)."""
from __future__ import annotations

import argparse
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from airbyte_cdk.destinations import Destination
from airbyte_cdk.models import AirbyteConnectionStatus, Status

from . import backends, secrets, settings
from .config import column_type_notes, parse_config
from .errors import ConnectorError
from .jsontext import read_json
from .messages import Output
from .write import write

logger = logging.getLogger("airbyte")


class DestinationDatabricks(Destination):
    def __init__(self, output: Output | None = None):
        self.output = output or Output()

    def parse_args(self, args: list[str]) -> argparse.Namespace:
        if args[:1] == ["discover"]:  # the CDK's parser knows spec, check and write only
            parser = argparse.ArgumentParser(prog="destination-databricks discover")
            parser.add_argument("--config", required=True, help="path to the JSON configuration file")
            parsed = parser.parse_args(args[1:])
            parsed.command = "discover"
            return parsed
        return super().parse_args(args)

    def execute(self, args: list[str]) -> None:
        parsed = self.parse_args(args)
        if parsed.command == "spec":
            self.output.message({"type": "SPEC", "spec": secrets.spec()})
        elif parsed.command == "check":
            status = self.check(logger, read_json(parsed.config, "config"))
            body = {"status": status.status.value, **({"message": status.message} if status.message else {})}
            self.output.message({"type": "CONNECTION_STATUS", "connectionStatus": body})
        elif parsed.command == "discover":
            raw = read_json(parsed.config, "config")
            secrets.register(raw)
            self.output.message({"type": "CATALOG", "catalog": backends.discover(parse_config(raw))})
        else:
            import sys

            write(parsed.config, parsed.catalog, sys.stdin.buffer, self.output)

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        """Every failure is an answer, never a crash; the message names the field or the failing step."""
        try:
            if isinstance(config, Mapping):
                secrets.register(config)
            parsed = parse_config(config)
            settings.current()
            backends.backend(parsed).check()
            if parsed.vector_search is not None:
                from .backends.databricks.warehouse import connection
                from .backends.databricks.workspace import SignIn
                from .vector_search.step import check_model_endpoints

                check_model_endpoints(parsed.vector_search, SignIn(connection(parsed), patient=False).workspace())
        except ConnectorError as exc:
            return AirbyteConnectionStatus(status=Status.FAILED, message=secrets.mask(exc.message))
        except Exception as exc:
            return AirbyteConnectionStatus(status=Status.FAILED, message=secrets.mask(f"{type(exc).__name__}: {exc}"))
        for note in column_type_notes(parsed, config):
            logger.info(note)
        return AirbyteConnectionStatus(status=Status.SUCCEEDED)

    def write(self, config: Mapping[str, Any], configured_catalog: Any, input_messages: Iterable[Any]) -> Iterable[Any]:
        raise NotImplementedError("`write` reads stdin itself: see destination_databricks.write.write.")
