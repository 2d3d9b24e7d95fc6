"""Log entries and levels: the one data type shared by every module."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

#: The `logging` level names and numbers, so filters compare numbers, not strings.
LEVELS: dict[str, int] = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}


def level_number(name: str) -> int:
    """The number of a level name (any case); ValueError names the bad level."""
    try:
        return LEVELS[name.upper()]
    except KeyError:
        raise ValueError(f"unknown log level {name!r}") from None


@dataclass(frozen=True)
class LogEntry:
    """One log line as it travels in a JSON text frame."""

    level: str
    message: str
    timestamp: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        level_number(self.level)  # reject unknown levels where they enter

    @property
    def level_number(self) -> int:
        return LEVELS[self.level.upper()]

    def to_json(self) -> str:
        return json.dumps({"level": self.level, "message": self.message, "timestamp": self.timestamp})

    @classmethod
    def from_json(cls, text: str) -> LogEntry:
        data = json.loads(text)
        return cls(level=data["level"], message=data["message"], timestamp=data["timestamp"])
