"""The two kinds of failure a user can be told about: their config, or the system."""
from __future__ import annotations

from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException


class ConfigError(AirbyteTracedException):
    """Something the user can fix in their config or catalog."""

    def __init__(self, message: str):
        super().__init__(message=message, internal_message=message, failure_type=FailureType.config_error)


class SystemError_(AirbyteTracedException):
    """Something went wrong that is not the user's config: bad input, storage or engine failures."""

    def __init__(self, message: str, exception: BaseException | None = None):
        super().__init__(
            message=message,
            internal_message=message,
            failure_type=FailureType.system_error,
            exception=exception,
        )


class InputError(SystemError_):
    """The message stream on stdin broke the protocol."""
