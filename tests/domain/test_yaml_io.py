"""Safe YAML reading: line numbers, duplicate keys, limits, encodings, refused tags."""

from __future__ import annotations

import pytest

from simulator.domain import yaml_io
from simulator.domain.yaml_io import join_path, load_yaml_file, parse_yaml
from simulator.errors import InputError

NESTED = """\
site:
  name: x
  electricity:
    price: $0.08/kWh
cluster:
  racks:
    - name: a
      node: dgx-h100
    - name: b
      node: dgx-a100
      count: 3
list: [1, 2, 3]
"""


def test_join_path():
    assert join_path("", "a") == "a"
    assert join_path("a", "b") == "a.b"
    assert join_path("a", 0) == "a[0]"
    assert join_path("a[0]", "c") == "a[0].c"


def test_data_is_plain_python():
    doc = parse_yaml(NESTED, "s.yaml")
    assert doc.source == "s.yaml"
    assert doc.data["cluster"]["racks"][1] == {"name": "b", "node": "dgx-a100", "count": 3}
    assert doc.data["list"] == [1, 2, 3]


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("site.name", 2),
        ("site.electricity.price", 4),
        ("cluster.racks[0]", 7),
        ("cluster.racks[0].name", 7),
        ("cluster.racks[0].node", 8),
        ("cluster.racks[1]", 9),
        ("cluster.racks[1].node", 10),
        ("cluster.racks[1].count", 11),
        ("list", 12),
        ("list[2]", 12),
    ],
)
def test_line_numbers_of_nested_paths(path, line):
    assert parse_yaml(NESTED).lines[path] == line


def test_duplicate_key_reported_with_its_line():
    text = "a: 1\nb:\n  c: 2\n  d: 3\n  c: 4\n"
    with pytest.raises(InputError) as info:
        parse_yaml(text, "dup.yaml")
    (problem,) = info.value.problems
    assert problem.path == "b.c"
    assert problem.line == 5
    assert "duplicate key" in problem.message
    assert info.value.lines() == ["dup.yaml:5: b.c: duplicate key"]


def test_every_duplicate_key_is_reported():
    with pytest.raises(InputError) as info:
        parse_yaml("a: 1\na: 2\nb: 1\nb: 2\n")
    assert [(p.path, p.line) for p in info.value.problems] == [("a", 2), ("b", 4)]


def test_merge_keys_are_not_duplicates():
    doc = parse_yaml("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n")
    assert doc.data["other"] == {"x": 1, "y": 2}


def _billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
        prev = name
    return "\n".join(lines) + "\n"


def test_alias_bomb_rejected_after_a_bounded_walk(monkeypatch):
    """The walk that counts expanded nodes stops at the limit: work done, not seconds, bounds it
    (9**9 strings would be expanded otherwise)."""
    text = _billion_laughs()
    assert len(text) < 1000  # tiny file, 9**9 strings when expanded
    visited = 0
    walk = yaml_io._Walker.walk

    def counting(self, node, path, depth):
        nonlocal visited
        visited += 1
        return walk(self, node, path, depth)

    monkeypatch.setattr(yaml_io._Walker, "walk", counting)
    with pytest.raises(InputError, match="alias"):
        parse_yaml(text, "bomb.yaml")
    assert visited == yaml_io.MAX_NODES + 1


def test_recursive_alias_rejected():
    with pytest.raises(InputError):
        parse_yaml("a: &x [*x]\n")


def test_nesting_deeper_than_the_limit_rejected():
    depth = yaml_io.MAX_DEPTH + 5
    text = "a: " + "[" * depth + "]" * depth + "\n"
    with pytest.raises(InputError, match=f"nested more than {yaml_io.MAX_DEPTH} levels"):
        parse_yaml(text)


def test_nesting_at_the_limit_accepted():
    depth = yaml_io.MAX_DEPTH - 1  # 'a' itself is depth 1
    text = "a: " + "[" * depth + "]" * depth + "\n"
    doc = parse_yaml(text)
    assert isinstance(doc.data["a"], list)


def test_pathological_nesting_does_not_crash():
    # Deep enough to blow Python's recursion in the composer: still an InputError.
    with pytest.raises(InputError, match="nested too deeply"):
        parse_yaml("[" * 5000 + "]" * 5000)


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object:os.system {}\n",
        "a: !!python/object/apply:os.system ['echo pwned']\n",
        "a: !!python/name:os.system\n",
        "a: !custom 3\n",
    ],
)
def test_python_tags_refused(text):
    with pytest.raises(InputError, match="could not determine a constructor"):
        parse_yaml(text)


def test_syntax_error_has_a_line():
    with pytest.raises(InputError) as info:
        parse_yaml("a: 1\nb: [1, 2\nc: 3\n", "bad.yaml")
    (problem,) = info.value.problems
    assert problem.message.startswith("invalid YAML")
    assert problem.line is not None and problem.line >= 2
    assert info.value.lines()[0].startswith(f"bad.yaml:{problem.line}:")


def test_several_documents_refused():
    with pytest.raises(InputError, match="invalid YAML"):
        parse_yaml("a: 1\n---\nb: 2\n")


def test_empty_text_is_an_empty_mapping():
    assert parse_yaml("").data == {}
    assert parse_yaml("# only a comment\n").data == {}


def test_text_larger_than_limit_rejected():
    text = "#" * (yaml_io.MAX_FILE_BYTES + 1)
    with pytest.raises(InputError, match="larger than"):
        parse_yaml(text)


# ----------------------------------------------------------------------------- files
def test_file_round_trip_and_source(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(NESTED, encoding="utf-8")
    doc = load_yaml_file(f)
    assert doc.source == str(f)
    assert doc.lines["cluster.racks[1].count"] == 11


def test_utf8_with_bom_and_non_ascii_accepted(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_bytes("\ufeffname: Luleå\n".encode())
    assert load_yaml_file(f).data == {"name": "Luleå"}


def test_non_utf8_file_rejected_with_byte_offset(tmp_path):
    f = tmp_path / "latin1.yaml"
    f.write_bytes(b"a: 1\nb: caf\xe9\n")  # 'é' in Latin-1; byte 0xe9 at offset 11
    with pytest.raises(InputError) as info:
        load_yaml_file(f)
    text = str(info.value)
    assert "not UTF-8" in text
    assert "0xe9" in text
    assert "offset 11" in text
    assert str(f) in text


def test_file_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(yaml_io, "MAX_FILE_BYTES", 1000)
    f = tmp_path / "big.yaml"
    f.write_text("#" * 1001)
    with pytest.raises(InputError, match="1001 bytes; input files are limited to 1000 bytes"):
        load_yaml_file(f)
    f.write_text("#" * 999)
    assert load_yaml_file(f).data == {}


def test_real_size_limit_is_a_few_megabytes(tmp_path):
    f = tmp_path / "big.yaml"
    f.write_bytes(b"#" * (yaml_io.MAX_FILE_BYTES + 1))
    assert yaml_io.MAX_FILE_BYTES == 4 * 1024 * 1024
    with pytest.raises(InputError, match="input files are limited"):
        load_yaml_file(f)


def test_directory_rejected(tmp_path):
    with pytest.raises(InputError, match="is a folder, expected a file"):
        load_yaml_file(tmp_path)


def test_missing_file_rejected(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(InputError, match="file not found") as info:
        load_yaml_file(missing)
    assert str(missing) in str(info.value)


def test_errors_from_files_name_the_file(tmp_path):
    f = tmp_path / "dup.yaml"
    f.write_text("a: 1\na: 2\n")
    with pytest.raises(InputError) as info:
        load_yaml_file(f)
    assert info.value.source == str(f)
    assert info.value.lines() == [f"{f}:2: a: duplicate key"]


def test_a_million_item_list_stops_at_the_node_limit_in_linear_time(monkeypatch):
    """Composing a million-node document took the pure-Python loader tens of seconds: the node
    limit now stops the reading itself, counted on the C parser's events, after MAX_NODES."""
    text = "name: x\nlist: [" + ",".join(["1"] * 1_000_000) + "]\n"
    composed = []
    monkeypatch.setattr(yaml_io, "_compose", lambda *a: composed.append(a) or (None, None))
    with pytest.raises(InputError) as info:
        parse_yaml(text, "big.yaml")
    (line,) = info.value.lines()
    assert f"more than {yaml_io.MAX_NODES:,} YAML values" in line
    assert not composed  # stopped before the node graph was built


def test_a_list_under_the_node_limit_still_loads():
    doc = parse_yaml("list: [" + ",".join(["1"] * 20_000) + "]\n")
    assert len(doc.data["list"]) == 20_000


@pytest.mark.parametrize("text", ["? {k}\n: 1\n", "a:\n  ? {k}\n  : 1\n"])
def test_a_key_longer_than_the_limit_is_one_problem_at_its_line(text):
    long_key = "k" * 100_000
    with pytest.raises(InputError) as info:
        parse_yaml(text.format(k=long_key), "k.yaml")
    (line,) = info.value.lines()
    assert "a key of 100,000 characters; keys may have at most 256" in line
    assert line.startswith("k.yaml:1: " if text.startswith("?") else "k.yaml:2: a: ")


def test_a_broken_small_document_gets_the_pure_python_message_with_its_context():
    with pytest.raises(InputError) as info:
        parse_yaml("a: 1\nb: {c: 1\nd: 2\n", "s.yaml")
    (line,) = info.value.lines()
    assert "(while parsing a flow mapping that starts on line 2)" in line


def test_plain_numbers_skip_the_trial_construction_but_odd_ones_do_not():
    doc = parse_yaml("a: [1, -2, 3.5, 1e3, 0x1F, 1:30]\n")
    assert doc.data["a"] == [1, -2, 3.5, "1e3", 31, 90]
    with pytest.raises(InputError, match="at most 100 digits"):
        parse_yaml("a: " + "9" * 101 + "\n")
