"""Write a run's outputs atomically: everything goes into a temporary sibling folder that is
renamed into place at the end, so the output folder is either complete or absent."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from simulator.errors import DcsimError


def clean_json(value):
    """JSON-safe copy: NaN/inf -> None, numpy scalars -> Python numbers."""
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(data: dict) -> str:
    return json.dumps(clean_json(data), indent=2, sort_keys=True) + "\n"


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Parquet without the pandas index and with fixed writer options (byte-stable output)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path, compression="zstd", write_statistics=True)


def write_outputs(out_dir: str | Path, files: dict[str, object], force: bool = False) -> Path:
    """Write ``files`` (name -> str | bytes | DataFrame) into ``out_dir`` atomically."""
    out = Path(out_dir)
    if out.exists() and not force:
        raise DcsimError(f"output folder {out} already exists (use --force to replace it)")
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    try:
        for name, content in files.items():
            target = tmp / name
            if isinstance(content, pd.DataFrame):
                write_parquet(content, target)
            elif isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(str(content), encoding="utf-8")
        if out.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
            os.replace(out, trash / out.name)
            os.replace(tmp, out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
