"""Safe YAML reading: bounded size, depth, node count, key length and alias expansion, UTF-8
only, with line numbers, in time linear in the text.

Returns plain data (dicts, lists, scalars) plus a map from YAML path ("a.b[0].c") to the
1-based line it came from, so validation errors can point at the line a planner wrote.
Only the safe loaders construct values: no ``yaml.load``, no tags that run code. Where PyYAML
has its C extension (libyaml), a first pass counts the document's nodes with it and stops at
the limit, and the C loader composes the document; a document that turns out not to be YAML is
parsed again by the pure-Python loader, whose messages say more, when it is small.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from simulator.errors import InputError, Problem

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 48
MAX_NODES = 200_000
MAX_DIGITS = 100  # a whole number longer than this is a mistake (Python refuses > 4300 anyway)
MAX_KEY_CHARS = 256  # the longest scenario key is 30 characters; catalog names are at most 100
PURE_ERROR_BYTES = 64 * 1024  # a broken document up to this size is re-read for the better message

_FAST_LOADER = getattr(yaml, "CSafeLoader", None)
_NODE_EVENTS = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.AliasEvent)

_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
# Plain decimal numbers construct without fail: only the others (0x1F, 1:30:00, 1e999999999,
# dates) need a trial construction, which would double the cost of a long list of numbers.
_PLAIN_NUMBER = re.compile(r"[-+]?(?:\d{1,100}(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d{1,4})?")
_CHECKED_TAGS = (_INT_TAG, _FLOAT_TAG, "tag:yaml.org,2002:timestamp")


@dataclass
class YamlDocument:
    """Parsed YAML data and where each path came from."""

    data: object
    lines: dict[str, int] = field(default_factory=dict)
    source: str | None = None


def join_path(parent: str, key: object) -> str:
    """Extend a YAML path: ``a`` + ``b`` -> ``a.b``; ``a`` + 0 -> ``a[0]``."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else str(key)


def short_path(path: str, limit: int = 80) -> str:
    """A YAML path cut in the middle when it is too long to read on one line."""
    if len(path) <= limit:
        return path
    return f"{path[:limit // 2]} ... {path[-(limit // 2 - 5):]}"


class _Walker:
    """Counts expanded nodes (aliases included) and depth, records line numbers, and checks that
    numbers and dates can be constructed (so such errors name their path and line)."""

    def __init__(self, loader: yaml.SafeLoader | None = None):
        self.count = 0
        self.lines: dict[str, int] = {}
        self.problems: list[Problem] = []
        self.loader = loader

    def _check_scalar(self, node: yaml.ScalarNode, path: str) -> None:
        line = node.start_mark.line + 1
        if node.tag == _INT_TAG and len(node.value) > MAX_DIGITS:
            self.problems.append(Problem(path, f"a number with {len(node.value)} digits; at most "
                                               f"{MAX_DIGITS} digits are accepted", line=line))
            return
        if self.loader is None or (node.tag in (_INT_TAG, _FLOAT_TAG) and _PLAIN_NUMBER.fullmatch(node.value)):
            return
        try:
            self.loader.yaml_constructors[node.tag](self.loader, node)
        except (ValueError, OverflowError, TypeError) as err:
            what = node.tag.rsplit(":", 1)[-1]
            self.problems.append(Problem(path, f"not a valid {what}: {err}",
                                         node.value[:40], line=line))

    def walk(self, node: yaml.Node, path: str, depth: int) -> None:
        self.count += 1
        if self.count > MAX_NODES:
            raise InputError(f"too many YAML nodes after expanding aliases (more than {MAX_NODES}); "
                             "is this an alias bomb?")
        if depth > MAX_DEPTH:
            raise InputError([Problem(short_path(path), f"nested more than {MAX_DEPTH} levels deep",
                                      line=node.start_mark.line + 1)])
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            if node.tag in _CHECKED_TAGS:
                self._check_scalar(node, path)
        elif isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                if len(key) > MAX_KEY_CHARS:
                    self.problems.append(Problem(short_path(path), f"a key of {len(key):,} characters; keys "
                                                                   f"may have at most {MAX_KEY_CHARS}",
                                                 key[:40], line=key_node.start_mark.line + 1))
                    continue
                if key in seen and key != "<<":
                    self.problems.append(Problem(join_path(path, key), "duplicate key",
                                                 line=key_node.start_mark.line + 1))
                seen.add(key)
                child = join_path(path, key)
                self.lines.setdefault(child, key_node.start_mark.line + 1)
                self.walk(value_node, child, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.walk(item, join_path(path, i), depth + 1)


_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
         (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"))


def read_text(path: Path, limit: int | None = None) -> str:
    """Read a file as UTF-8 text with a size cap (``MAX_FILE_BYTES`` unless ``limit`` is given);
    errors name the file and what is wrong."""
    limit = MAX_FILE_BYTES if limit is None else limit
    source = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError(f"file not found: {source}") from None
    except OSError as err:
        raise InputError(f"cannot read {source}: {err.strerror or err}") from None
    if path.is_dir():
        raise InputError(f"{source} is a folder, expected a file")
    if not path.is_file():
        raise InputError(f"{source} is not a regular file (a device, pipe or socket)")
    if size > limit:
        raise InputError(f"{source} is {size} bytes; input files are limited to {limit} bytes")
    try:
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as err:
        raise InputError(f"cannot read {source}: {err.strerror or err}") from None
    if len(raw) > limit:
        raise InputError(f"{source} is larger than {limit} bytes; input files are limited "
                         f"to {limit} bytes")
    return decode_utf8(raw, source)


def decode_utf8(raw: bytes, source: str | None) -> str:
    """UTF-8 text from bytes; a UTF-16/32 byte-order mark or a stray byte is named with its line."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            raise InputError([Problem("", f"the file is {encoding} text (it starts with a "
                                          f"{encoding} byte-order mark); save it as UTF-8", line=1)],
                             source)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise InputError([Problem("", f"not UTF-8 text: byte 0x{raw[err.start]:02x} at offset "
                                      f"{err.start}; save the file as UTF-8", line=line)],
                         source) from None


def _syntax_problem(err: yaml.MarkedYAMLError) -> Problem:
    """A YAML syntax error as one Problem at its line, saying where an unclosed thing began."""
    line = err.problem_mark.line + 1 if err.problem_mark else None
    what = err.problem or "invalid YAML"
    if what == "but found another document":
        return Problem("", "invalid YAML: a second document starts here; a scenario is one "
                           "YAML document (remove the '---' or '...' line)", line=line)
    context = ""
    if err.context:
        start = err.context_mark.line + 1 if err.context_mark else None
        context = (f" ({err.context} that starts on line {start})"
                   if start is not None and start != line else f" ({err.context})")
    return Problem("", f"invalid YAML: {what}{context}", line=line)


def _count_nodes(text: str) -> None:
    """Stop a document with more than MAX_NODES nodes (before aliases expand) after reading that
    many, with the C parser's events: composing a million-item list takes tens of seconds in
    pure Python. Syntax errors are left to the loader that composes the document."""
    if _FAST_LOADER is None:
        return
    parser = _FAST_LOADER(text)
    count = 0
    try:
        while (event := parser.get_event()) is not None and not isinstance(event, yaml.StreamEndEvent):
            if isinstance(event, _NODE_EVENTS):
                count += 1
                if count > MAX_NODES:
                    line = event.start_mark.line + 1 if event.start_mark else None
                    raise InputError([Problem("", f"more than {MAX_NODES:,} YAML values; a scenario (or "
                                                  f"any YAML input) may hold at most {MAX_NODES:,}", line=line)])
    except yaml.YAMLError:
        return
    finally:
        parser.dispose()


def _compose(text: str, pure: bool) -> tuple[yaml.Node | None, yaml.SafeLoader]:
    """The document's node graph and the loader that built it (to construct values with)."""
    loader = yaml.SafeLoader(text) if pure or _FAST_LOADER is None else _FAST_LOADER(text)
    try:
        return loader.get_single_node(), loader
    except BaseException:
        loader.dispose()
        raise


def parse_yaml(text: str, source: str | None = None) -> YamlDocument:
    """Parse one YAML document from text, safely and within the limits above."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise InputError(f"YAML text is larger than {MAX_FILE_BYTES} bytes", source)
    try:
        return _parse(text, source, pure=False)
    except _RedoError:
        return _parse(text, source, pure=True)


class _RedoError(Exception):
    """The fast loader found a small document broken: parse it again for the fuller message."""


def _parse(text: str, source: str | None, pure: bool) -> YamlDocument:
    loader = None
    try:
        if not pure:
            _count_nodes(text)
        try:
            node, loader = _compose(text, pure)
        except yaml.YAMLError:
            if not pure and _FAST_LOADER is not None and len(text) <= PURE_ERROR_BYTES:
                raise _RedoError from None
            raise
        if node is None:
            return YamlDocument({}, {}, source)
        walker = _Walker(loader)
        walker.walk(node, "", 0)
        if walker.problems:
            raise InputError(walker.problems)
        data = loader.construct_document(node)
    except InputError as err:
        raise InputError(err.problems, source) from None
    except yaml.MarkedYAMLError as err:
        raise InputError([_syntax_problem(err)], source) from None
    except _RedoError:
        raise
    except yaml.reader.ReaderError as err:
        line = text.count("\n", 0, err.position) + 1
        code = err.character if isinstance(err.character, int) else ord(str(err.character)[:1] or "?")
        raise InputError([Problem("", f"invalid YAML: character U+{code:04X} is not allowed in YAML "
                                      "text (control characters other than tab and newline are not)",
                                  line=line)], source) from None
    except yaml.YAMLError as err:
        raise InputError(f"invalid YAML: {err}", source) from None
    except RecursionError:
        raise InputError(f"YAML nested too deeply (more than {MAX_DEPTH} levels)", source) from None
    except (ValueError, TypeError, OverflowError) as err:
        raise InputError(f"invalid YAML value: {err}", source) from None
    finally:
        if loader is not None:
            loader.dispose()
    return YamlDocument(data, walker.lines, source)


def load_yaml_file(path: str | Path) -> YamlDocument:
    """Read and parse a YAML file (see ``parse_yaml``)."""
    path = Path(path)
    return parse_yaml(read_text(path), str(path))
