"""docs/scenario-reference.md is generated from the schema and must match it."""

from pathlib import Path

from simulator.scenario.reference import scenario_reference
from simulator.scenario.schema import Scenario, TrainingJob

DOC = Path(__file__).resolve().parents[2] / "docs" / "scenario-reference.md"


def test_reference_doc_is_up_to_date():
    assert DOC.read_text(encoding="utf-8").rstrip("\n") == scenario_reference().rstrip("\n"), (
        "regenerate with: dcsim schema --format md > docs/scenario-reference.md")


def test_reference_lists_every_field_with_its_unit():
    text = scenario_reference()
    for name in TrainingJob.model_fields:
        assert f"| `{name}` |" in text
    assert "| `power_envelope` | power ('700W', '20MW') | **required** |" in text
    assert "## Scenario" in text and all(f"`{k}`" in text for k in Scenario.model_fields)
