"""Every epoch's numbers and how a run ended, as the trainer keeps them and files store them."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from minidl.events import (
    EPOCH_FIELDS,
    EpochCompleted,
    Status,
    TrainingDiverged,
    TrainingStopped,
)
from minidl.serialization import atomic_write_text, parse_strict_json, strict_json


@dataclass
class History:
    """Every epoch's numbers and how the run ended; writes JSON and CSV."""

    epochs: list[EpochCompleted] = field(default_factory=list)
    status: Status = "running"
    diverged: TrainingDiverged | None = None
    stopped: TrainingStopped | None = None

    @property
    def final(self) -> EpochCompleted | None:
        return self.epochs[-1] if self.epochs else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "diverged": None if self.diverged is None else asdict(self.diverged),
            "stopped": None if self.stopped is None else asdict(self.stopped),
            "epochs": [e.to_dict() for e in self.epochs],
        }

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        text = strict_json(self.to_dict())  # NaN/inf as null, listed under "non_finite"
        if path is not None:
            atomic_write_text(path, text)
        return text

    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        buffer = io.StringIO()
        names = (
            self.epochs[0].fields_of_task()
            if self.epochs
            else [n for n in EPOCH_FIELDS if n not in EpochCompleted.REGRESSION_FIELDS]
        )
        writer = csv.DictWriter(buffer, fieldnames=names, lineterminator="\n")
        writer.writeheader()
        for epoch in self.epochs:
            writer.writerow(
                {k: repr(v) if isinstance(v, float) else v for k, v in epoch.to_dict().items()}
            )
        text = buffer.getvalue()
        if path is not None:
            atomic_write_text(path, text)
        return text

    @classmethod
    def from_json(cls, source: str | os.PathLike[str]) -> History:
        data = parse_strict_json(Path(source).read_text(encoding="utf-8"))
        return cls(
            epochs=[EpochCompleted.from_dict(e) for e in data["epochs"]],
            status=data["status"],
            diverged=TrainingDiverged(**data["diverged"]) if data.get("diverged") else None,
            stopped=TrainingStopped(**data["stopped"]) if data.get("stopped") else None,
        )
