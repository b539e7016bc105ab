"""The `alert-intel` verbs as a user or a script calls them: exit codes, output and the files they write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from functions.local_runner.cli import EXIT_OK, EXIT_USAGE, main

EVENTS = Path(__file__).resolve().parents[1] / "events"


def test_classify_prints_a_json_array_of_alerts(capsys: pytest.CaptureFixture[str]) -> None:
    # When a CloudWatch alarm delivered by SNS is classified
    code = main(["classify", str(EVENTS / "cloudwatch_alarm_sns.json")])

    # Then stdout is a JSON array holding one normalised alert
    assert code == EXIT_OK
    alerts = json.loads(capsys.readouterr().out)
    assert isinstance(alerts, list) and len(alerts) == 1
    assert alerts[0]["source"] == "cloudwatch_alarm"
    assert alerts[0]["severity"] == "critical"
    assert alerts[0]["dedup_key"]


def test_classify_keeps_unrecognised_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "mystery.txt"
    file.write_bytes(b"something odd happened \xff on host-3")

    assert main(["classify", str(file)]) == EXIT_OK

    alerts = json.loads(capsys.readouterr().out)
    assert alerts[0]["source"] == "unknown"
    assert "something odd happened" in alerts[0]["raw_excerpt"]


def test_a_missing_file_is_exit_2_with_a_clear_message(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["classify", "/no/such/alert.json"])

    assert code == EXIT_USAGE
    assert "no such file: /no/such/alert.json" in capsys.readouterr().err


def test_run_missing_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "nope.json"), "--out", str(tmp_path)]) == EXIT_USAGE
    assert "no such file" in capsys.readouterr().err


def test_an_unknown_scenario_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--scenario", "no-such-scenario", "--out", str(tmp_path)]) == EXIT_USAGE
    assert "no-such-scenario" in capsys.readouterr().err


def test_run_writes_the_posted_message_and_the_execution(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # When a user's alert file runs on the default scenario's simulated account
    code = main(["run", str(EVENTS / "cloudwatch_alarm_sns.json"), "--out", str(tmp_path)])

    # Then the run succeeded and printed the console-like table, the message and a Block Kit Builder link
    assert code == EXIT_OK
    out = capsys.readouterr().out
    assert "Classify Alert" in out and "Post To Slack" in out and "SUCCEEDED" in out
    assert "https://app.slack.com/block-kit-builder/#" in out
    # And slack_message.json is exactly the body that was posted (the execution's final output carries it too)
    message = json.loads((tmp_path / "slack_message.json").read_text())
    execution = json.loads((tmp_path / "execution.json").read_text())
    # (the main message, and the thread's evidence below a divider: webhooks cannot thread, decision 0013)
    output = execution["output"]
    blocks = [*output["message"]["blocks"], {"type": "divider"}, *output["thread"]["blocks"]]
    assert message == {
        "text": output["message"]["text"],
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }
    assert message["blocks"][0]["type"] == "header"
    # And execution.json has the status and every state with its name, duration and output size
    assert execution["status"] == "SUCCEEDED"
    names = [state["name"] for state in execution["states"]]
    assert names[0] == "Classify Alert" and names[-1] == "Post To Slack"
    assert all({"name", "status", "duration_ms", "output_bytes"} <= state.keys() for state in execution["states"])
    assert all(state["output_bytes"] > 0 for state in execution["states"])


def test_run_of_a_deeply_nested_file_posts_it_raw(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a file nested far deeper than any JSON parser recurses
    file = tmp_path / "deep.json"
    file.write_text("{" + '"a":{' * 100_000 + "}" * 100_001)

    # When it is run
    code = main(["run", str(file), "--out", str(tmp_path / "out")])

    # Then it does not crash, and what was posted is on disk
    assert code == EXIT_OK
    assert json.loads((tmp_path / "out" / "slack_message.json").read_text())["text"]
    assert "slack_message.json" in capsys.readouterr().out


def test_run_names_only_the_files_it_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a previous run's message in the folder, and a run that posts nothing
    out = tmp_path / "out"
    out.mkdir()
    (out / "slack_message.json").write_text("{}")

    from functions.local_runner.runner import RunResult, write_outputs

    def run_nothing(scenario: object, *, alert_payload: object, out_dir: Path) -> RunResult:
        result = RunResult(status="FAILED", execution_arn="arn", seconds=0.0)
        write_outputs(result, out_dir)
        return result

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr("functions.local_runner.runner.run_scenario", run_nothing)
    try:
        code = main(["run", str(EVENTS / "custom_app_error.json"), "--out", str(out)])
    finally:
        monkeypatch.undo()

    # Then the stale message is gone and the output names only execution.json
    assert code != EXIT_OK
    assert not (out / "slack_message.json").exists()
    printed = capsys.readouterr().out
    assert "No Slack message was posted." in printed
    assert "slack_message.json" not in printed and "execution.json" in printed
