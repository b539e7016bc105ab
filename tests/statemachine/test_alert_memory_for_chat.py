"""Post remembers each posted alert in the chat bot's table, so a question under it starts from the analysis."""

from __future__ import annotations

import json

import boto3
import pytest

from functions.ingest.logic import pipeline_inputs_from_raw
from functions.local_runner.runner import simulated_account
from functions.local_runner.scenario import DEFAULT_SCENARIO, load_scenario
from functions.local_runner.seed import seed_account
from functions.shared.adapters.conversations import ConversationTable


def test_the_posted_alert_is_remembered_for_questions_in_its_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a deployment with the chat bot's Conversations table
    monkeypatch.setenv("CONVERSATIONS_TABLE", "alert-intel-local-conversations")
    scenario = load_scenario(DEFAULT_SCENARIO)
    with simulated_account(seed=lambda now: seed_account(scenario.account, now=now)) as account:
        boto3.client("dynamodb", region_name="us-east-1").create_table(
            TableName="alert-intel-local-conversations",
            KeySchema=[
                {"AttributeName": "conversation_id", "KeyType": "HASH"},
                {"AttributeName": "timestamp", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "conversation_id", "AttributeType": "S"},
                {"AttributeName": "timestamp", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )

        # When the demo alert runs through the pipeline
        result = account.execute(pipeline_inputs_from_raw(json.dumps(scenario.alert))[0])
        stored = ConversationTable("alert-intel-local-conversations").alert_context(result.output["dedup_key"])

    # Then Post stored what the pipeline knew, keyed by the alert's dedup key
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["post"]["remembered_for_chat"] is True
    assert stored is not None
    assert stored.title == result.output["title"]
    assert result.analysis is not None
    assert stored.root_cause == result.analysis["root_cause"][:1000]
    assert any("ImageProcessor" in fact for fact in stored.facts)
