"""Config loading: defaults, dvc.yaml zero-config, and a corpus of bad configs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_ci.config import Config, json_schema, load_config, parse_config
from mlops_ci.errors import ConfigError

BAD = Path(__file__).parent / "bad_configs"
BAD_FILES = sorted(BAD.glob("*.yaml"))

# What each bad config's message must name: the field (or the problem) it is about.
EXPECTED = {
    "absolute_path.yaml": "params.files",
    "bad_baseline.yaml": "baseline",
    "bad_comment_mode.yaml": "report.comment",
    "bad_direction.yaml": "metrics.gates.accuracy.direction",
    "bad_model_name.yaml": "models",
    "bad_promotion_order.yaml": "models.clf.promotion.order",
    "bad_stage_name.yaml": "models.clf.stages",
    "bad_test_name.yaml": "monitor.tests.age.test",
    "bool_for_string.yaml": "pipeline.run",
    "drift_share_too_big.yaml": "monitor.drift_share",
    "duplicate_keys.yaml": "duplicate key 'pipeline'",
    "duplicate_stages.yaml": "models.clf.stages",
    "empty.yaml": "empty",
    "files_not_list.yaml": "metrics.files",
    "gates_as_list.yaml": "metrics.gates",
    "min_above_max.yaml": "metrics.gates.accuracy",
    "model_path_escapes.yaml": "models.clf.path",
    "negative_max_drop.yaml": "metrics.gates.loss.max_drop",
    "negative_timeout.yaml": "pipeline.timeout_minutes",
    "non_string_key.yaml": "mapping key",
    "non_utf8.yaml": "not UTF-8",
    "only_comment.yaml": "empty",
    "path_escapes.yaml": "metrics.files",
    "tabs.yaml": "tabs",
    "template_escapes.yaml": "report.template",
    "top_level_list.yaml": "mapping",
    "unknown_gate_key.yaml": "did you mean 'direction'",
    "unknown_nested_model_key.yaml": "did you mean 'stages'",
    "unknown_top_key.yaml": "did you mean 'metrics'",
    "wrong_type_gate_min.yaml": "metrics.gates.accuracy.min",
    "wrong_version.yaml": "version",
    "yaml_syntax.yaml": "expected",
}
# Where YAML knows the line, the message carries it.
EXPECTED_LINE = {
    "bad_direction.yaml": 4,
    "duplicate_keys.yaml": 3,
    "tabs.yaml": 2,
    "unknown_gate_key.yaml": 4,
    "wrong_type_gate_min.yaml": 4,
    "yaml_syntax.yaml": 3,
}


def test_corpus_is_large_and_fully_described() -> None:
    assert len(BAD_FILES) >= 20
    assert {p.name for p in BAD_FILES} == set(EXPECTED)


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_bad_config_is_one_clear_error(path: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, path)
    message = str(info.value)
    assert "\n" not in message
    assert path.name in message
    assert EXPECTED[path.name] in message
    if path.name in EXPECTED_LINE:
        assert f"{path.name}:{EXPECTED_LINE[path.name]}:" in message
        assert info.value.line == EXPECTED_LINE[path.name]


@pytest.mark.parametrize("path", BAD_FILES[:: max(1, len(BAD_FILES) // 6)], ids=lambda p: p.stem)
def test_cli_validate_exits_1_with_one_line_and_no_traceback(path: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlops_ci",
            "validate",
            "--config",
            str(path),
            "--root",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1
    assert path.name in error_lines[0]


def test_defaults_are_sensible() -> None:
    config = Config()  # type: ignore[call-arg]
    assert config.pipeline.run == "dvc repro"
    assert config.report.comment == "update"
    assert config.model("anything").stages == ["staging", "production"]
    assert config.model("anything").environment_for("production") == "production"


def test_zero_config_reads_dvc_yaml(tmp_path: Path) -> None:
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  eval:\n    cmd: python eval.py\n"
        "    params: [train.lr, {conf/extra.yaml: [a]}]\n"
        "    metrics: [{scores.json: {cache: false}}]\nmetrics: [summary.json]\n"
    )
    loaded = load_config(tmp_path)
    assert loaded.path is None
    assert loaded.config.metrics.files == ["summary.json", "scores.json"]
    assert loaded.config.params.files == ["params.yaml", "conf/extra.yaml"]
    assert loaded.sources["metrics.files"] == "dvc.yaml"


def test_config_file_wins_over_dvc_yaml(tmp_path: Path) -> None:
    (tmp_path / "dvc.yaml").write_text("metrics: [from-dvc.json]\n")
    (tmp_path / "mlops-ci.yaml").write_text("metrics:\n  files: [mine.json]\n")
    loaded = load_config(tmp_path)
    assert loaded.config.metrics.files == ["mine.json"]


def test_model_register_alias_and_gates_fallback() -> None:
    config = parse_config(
        "metrics:\n  gates:\n    acc: {min: 0.5}\nmodels:\n  team:clf:\n    register: on-merge\n"
    )
    assert config.models["team:clf"].registration == "on-merge"
    assert "acc" in config.gates_for_model("team:clf")


def test_schema_is_json_schema_and_rejects_unknown_keys() -> None:
    schema = json_schema()
    assert schema["additionalProperties"] is False
    assert {"pipeline", "metrics", "models", "monitor", "report"} <= set(schema["properties"])
    json.dumps(schema)


def test_sample_project_config_is_valid(sample_project_template) -> None:  # type: ignore[no-untyped-def]
    loaded = load_config(sample_project_template.root)
    assert loaded.config.metrics.files == ["metrics.json"]
    assert loaded.config.metrics.gates["accuracy"].min == 0.85
    assert "cancer-classifier" in loaded.config.models


def test_configuration_reference_is_current() -> None:
    from mlops_ci.config_reference import render_reference

    committed = Path(__file__).resolve().parents[2] / "docs" / "configuration-reference.md"
    assert committed.read_text() == render_reference(), (
        "docs/configuration-reference.md is stale: run "
        "`python -m mlops_ci.config_reference > docs/configuration-reference.md`"
    )
