"""Resolve a model reference: a catalog name, or a path to a hand-written model spec YAML."""

from __future__ import annotations

from pathlib import Path

from simulator.domain.catalog import Catalog, shipped_catalog
from simulator.domain.specs import ModelSpec
from simulator.domain.validation import validate_model
from simulator.domain.yaml_io import load_yaml_file
from simulator.errors import InputError, Problem

SPEC_SUFFIXES = (".yaml", ".yml")


def looks_like_path(ref: str) -> bool:
    return ref.endswith(SPEC_SUFFIXES) or "/" in ref or "\\" in ref


def load_model_file(path: str | Path) -> ModelSpec:
    """Read and validate a model spec file; errors name the file, line and key."""
    doc = load_yaml_file(path)
    if not isinstance(doc.data, dict):
        raise InputError([Problem("", "a model spec is a mapping of keys such as layers, hidden, heads")],
                         str(path))
    return validate_model(ModelSpec, doc.data, doc.lines, str(path))


def resolve_model(ref: str | ModelSpec | dict, catalog: Catalog | None = None,
                  base_dir: Path | None = None, path: str = "model") -> ModelSpec:
    """A ModelSpec from a catalog name, a spec-file path (relative to ``base_dir``) or a dict."""
    if isinstance(ref, ModelSpec):
        return ref
    if isinstance(ref, dict):
        return validate_model(ModelSpec, ref, None, None, prefix=path)
    catalog = catalog or shipped_catalog()
    ref = str(ref)
    if looks_like_path(ref):
        file = Path(ref)
        if base_dir is not None and not file.is_absolute():
            file = base_dir / file
        if not file.exists():
            raise InputError([Problem(path, f"model spec file not found: {file}")])
        return load_model_file(file)
    return catalog.models.get(ref, path)
