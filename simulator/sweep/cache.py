"""Results by scenario hash: a variant already run with the same scenario and the same dcsim
sources is read back instead of simulated again."""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from pathlib import Path

from simulator.domain.json_io import read_json
from simulator.errors import InputError
from simulator.report.writer import dumps


@cache
def code_digest() -> str:
    """Hash of every source and catalog file of the package (any edit invalidates the cache)."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".yaml", ".csv") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def scenario_key(raw: dict, base_dir: str) -> str:
    text = json.dumps(raw, sort_keys=True, default=str) + base_dir + code_digest()
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class ResultCache:
    """A folder of <key>.json files holding a variant's summary and costs."""

    def __init__(self, folder: str | Path | None):
        self.folder = Path(folder) if folder else None

    def get(self, key: str) -> dict | None:
        if self.folder is None:
            return None
        path = self.folder / f"{key}.json"
        if not path.is_file():
            return None
        try:  # the one safe reader: an entry that is damaged or untrustworthy is a miss, rerun
            data = read_json(path)
        except InputError:
            return None
        return data if isinstance(data, dict) else None

    def put(self, key: str, value: dict) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{key}.{os.getpid()}.tmp"
        tmp.write_text(dumps(value), encoding="utf-8")
        os.replace(tmp, self.folder / f"{key}.json")
