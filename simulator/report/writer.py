"""Write a run's outputs atomically: everything goes into a temporary sibling folder that is
renamed into place at the end, so the output folder is either complete or absent.

Every output folder holds a marker file, ``.dcsim-output``: ``--force`` replaces only an empty
folder or one holding the marker (an earlier dcsim output), never anything else, so a typo such
as ``dcsim run dir/s.yaml -o dir --force`` cannot delete the scenario. A failure while writing (a
full disk, a read-only folder, an interrupt, another run that claimed the folder first) removes
the temporary folder and leaves the old folder, or none, in place; it is reported as an
``InputError`` naming the folder (exit 2), never a traceback.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from simulator.errors import InputError, Problem

MARKER = ".dcsim-output"
MARKER_TEXT = "This folder was written by dcsim; `--force` may replace it (and only such folders).\n"


def replace_problem(out: Path) -> str | None:
    """Why ``--force`` may not replace the existing path ``out`` (None when it may: an empty
    folder, or one holding the dcsim marker)."""
    if not out.is_dir():
        return f"{out} is a file, not an output folder"
    try:
        if (out / MARKER).is_file() or not any(out.iterdir()):
            return None
    except OSError as err:
        return f"cannot read {out}: {err.strerror or err}"
    return (f"{out} is not empty and was not written by dcsim (no {MARKER} marker); --force "
            "replaces only an empty folder or an earlier dcsim output folder. Choose another "
            "--out, or remove the folder yourself")


def _bad_out(message: str) -> InputError:
    return InputError([Problem("--out", message)])


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
    """Write ``files`` (name -> str | bytes | DataFrame) into ``out_dir`` atomically.

    Everything goes into a temporary sibling ``.NAME.tmp-*`` that is renamed into place; on any
    failure or interrupt the temporary folder is removed, and with ``force`` a folder being
    replaced is put back, so ``out_dir`` is always either the old folder, complete, or absent.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise _bad_out(f"{out} is a file, not an output folder")
    if out.exists() and not force:
        raise _bad_out(f"output folder {out} already exists (use --force to replace it)")
    if out.exists() and (why := replace_problem(out)):
        raise _bad_out(why)
    parent = out.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    except OSError as err:
        raise _bad_out(f"cannot create the output folder {out}: {err.strerror or err}") from None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        (tmp / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
        for name, content in files.items():
            target = tmp / name
            if isinstance(content, pd.DataFrame):
                write_parquet(content, target)
            elif isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(str(content), encoding="utf-8")
        if out.exists():
            if not force:
                raise _bad_out(f"output folder {out} appeared while this run was writing it "
                                    "(another run writing the same folder?); nothing was written")
            if why := replace_problem(out):  # something else appeared there while we ran
                raise _bad_out(why)
            _replace(tmp, out, parent)
        else:
            os.rename(tmp, out)  # fails if another run created ``out`` meanwhile (never merges)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if err.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise _bad_out(f"output folder {out} appeared while this run was writing it (another "
                                "run writing the same folder?); nothing was written") from None
        raise _bad_out(f"cannot write the output folder {out}: {err.strerror or err}; nothing "
                            "was written") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _replace(tmp: Path, out: Path, parent: Path) -> None:
    """Swap ``tmp`` in for the existing folder ``out``; put ``out`` back if the swap fails."""
    trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
    try:
        os.replace(out, trash / out.name)
        try:
            os.replace(tmp, out)
        except BaseException:
            os.replace(trash / out.name, out)
            raise
    finally:
        shutil.rmtree(trash, ignore_errors=True)
