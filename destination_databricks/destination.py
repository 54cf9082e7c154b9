"""spec / check / discover / write: orchestration only; each stage lives in its own module."""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import uuid
from typing import Any, Iterable, Mapping

import orjson
from airbyte_cdk.destinations import Destination
from airbyte_cdk.models import AirbyteConnectionStatus, Status
from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets, get_secrets, update_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from .catalog import plan_streams
from .config import Config, parse_config
from .errors import ConfigError
from .messages import Output
from .storage import check_storage, connect, discover_catalog
from .sync import Sync, Tuning

logger = logging.getLogger("airbyte")


class DestinationDatabricks(Destination):
    VALID_CMDS = {"spec", "check", "discover", "write"}

    def __init__(self, output: Output | None = None):
        self.output = output or Output()

    # --- the CDK's command line, plus discover ---------------------------------------------
    def parse_args(self, args: list[str]) -> argparse.Namespace:
        if args[:1] == ["discover"]:
            parser = argparse.ArgumentParser(prog="destination-databricks discover")
            parser.add_argument("--config", required=True, help="path to the JSON configuration file")
            parsed = parser.parse_args(args[1:])
            parsed.command = "discover"
            return parsed
        return super().parse_args(args)

    def _config(self, path: str) -> tuple[Mapping[str, Any], Config]:
        raw = self.read_config(path)
        update_secrets(get_secrets(self.spec(logger).connectionSpecification, raw))
        return raw, parse_config(raw)

    def execute(self, args: list[str]) -> None:
        parsed = self.parse_args(args)
        if parsed.command == "spec":
            self.output.message({"type": "SPEC", "spec": _spec_json()})
        elif parsed.command == "check":
            self.output.message({"type": "CONNECTION_STATUS", "connectionStatus": self._check(parsed.config)})
        elif parsed.command == "discover":
            _, config = self._config(parsed.config)
            self.output.message({"type": "CATALOG", "catalog": discover_catalog(config)})
        elif parsed.command == "write":
            _, config = self._config(parsed.config)
            catalog = self._read_json(parsed.catalog, "catalog")
            self.write_stream(config, catalog, sys.stdin.buffer)
        else:
            raise ConfigError(f"Unknown command {parsed.command!r}.")

    @staticmethod
    def _read_json(path: str, what: str) -> Any:
        try:
            with open(path, "rb") as f:
                return orjson.loads(f.read())
        except OSError as exc:
            raise ConfigError(f"Cannot read the {what} file {path!r}: {exc.strerror}.") from None
        except orjson.JSONDecodeError as exc:
            raise ConfigError(f"The {what} file {path!r} is not valid JSON: {exc}.") from None

    # --- check --------------------------------------------------------------------------------
    def _check(self, config_path: str) -> dict:
        try:
            raw = self.read_config(config_path)
        except Exception as exc:
            return {"status": "FAILED", "message": f"Cannot read the config file: {exc}"}
        update_secrets(get_secrets(self.spec(logger).connectionSpecification, raw))
        status = self.check(logger, raw)
        return {"status": status.status.value, **({"message": status.message} if status.message else {})}

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        try:
            check_storage(parse_config(config))
        except AirbyteTracedException as exc:
            return AirbyteConnectionStatus(status=Status.FAILED, message=filter_secrets(exc.message or ""))
        except Exception as exc:  # a check answers every failure with a status, never a crash
            return AirbyteConnectionStatus(status=Status.FAILED, message=filter_secrets(f"{type(exc).__name__}: {exc}"))
        return AirbyteConnectionStatus(status=Status.SUCCEEDED)

    # --- write --------------------------------------------------------------------------------
    def write_stream(self, config: Config, catalog: Any, lines: Iterable[bytes]) -> None:
        plans = plan_streams(catalog, config.schema)
        sync_id = str(uuid.uuid4())
        with connect(config, sync_id=sync_id) as (stager, loader):
            sync = Sync(plans, stager, loader, self.output.message,
                        evolve=config.enable_schema_evolution, tuning=Tuning.from_env())
            started = time.monotonic()
            sync.run(lines)
            logger.info("Sync %s wrote %d records of %d streams in %.1f s.", sync_id, sync.records,
                        len(plans), time.monotonic() - started)

    def write(self, config: Mapping[str, Any], configured_catalog: Any, input_messages: Iterable[Any]) -> Iterable[Any]:
        raise NotImplementedError("The command line reads stdin itself; see DestinationDatabricks.execute.")


def _spec_json() -> dict:
    with open(os.path.join(os.path.dirname(__file__), "spec.json"), "rb") as f:
        return orjson.loads(f.read())
