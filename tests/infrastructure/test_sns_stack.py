"""SnsStack: encrypted alert topics, the EventBridge rules and the ingest Lambda they all feed."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match

from cdk.constants import ALERT_PUBLISHERS
from tests.infrastructure.conftest import Synthesis

STACK = "Sns"


def _ingest_arn(synthesis: Synthesis) -> dict[str, Any]:
    return {"Fn::GetAtt": [synthesis.logical_id_of_function(STACK, "ingest"), "Arn"]}


def test_two_topics_each_with_its_own_rotated_key_and_tls_only(synthesis: Synthesis) -> None:
    template = synthesis.template(STACK)
    template.resource_count_is("AWS::SNS::Topic", 2)
    template.resource_count_is("AWS::KMS::Key", 2)
    template.all_resources_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    for route in ("critical", "heartbeat"):
        template.has_resource_properties(
            "AWS::SNS::Topic",
            {"TopicName": f"alert-intel-dev-{route}-alerts", "KmsMasterKeyId": Match.any_value()},
        )
    for policy in synthesis.resources(STACK, "AWS::SNS::TopicPolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
        )


def test_budgets_cloudwatch_and_cost_anomaly_detection_may_publish(synthesis: Synthesis) -> None:
    # Given each topic policy's and key policy's allow statements for AWS services
    publishers = sorted(ALERT_PUBLISHERS)
    topic_policies = list(synthesis.resources(STACK, "AWS::SNS::TopicPolicy").values())
    keys = list(synthesis.resources(STACK, "AWS::KMS::Key").values())
    assert len(topic_policies) == 2

    # Then both allow exactly those publishers, from this account only
    for policy in topic_policies:
        (allow,) = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
        assert allow["Action"] == "sns:Publish"
        assert sorted(allow["Principal"]["Service"]) == publishers
        assert allow["Condition"] == {"StringEquals": {"aws:SourceAccount": synthesis.config.account}}
    for key in keys:
        services = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if "Service" in s.get("Principal", {})]
        (service_statement,) = services
        assert sorted(service_statement["Principal"]["Service"]) == publishers
        assert sorted(service_statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]


def test_ingest_is_subscribed_to_both_topics(synthesis: Synthesis) -> None:
    template = synthesis.template(STACK)
    template.resource_count_is("AWS::SNS::Subscription", 2)
    template.all_resources_properties(
        "AWS::SNS::Subscription", {"Protocol": "lambda", "Endpoint": _ingest_arn(synthesis)}
    )


def test_eventbridge_rules_for_every_non_sns_source_target_ingest(synthesis: Synthesis) -> None:
    # Given the rules' patterns
    rules = list(synthesis.resources(STACK, "AWS::Events::Rule").values())
    patterns = {
        (rule["Properties"]["EventPattern"]["source"][0], rule["Properties"]["EventPattern"]["detail-type"][0])
        for rule in rules
    }

    # Then Health, Security Hub, GuardDuty, alarm state changes and cost anomalies each reach ingest
    assert patterns == {
        ("aws.health", "AWS Health Event"),
        ("aws.securityhub", "Security Hub Findings - Imported"),
        ("aws.guardduty", "GuardDuty Finding"),
        ("aws.cloudwatch", "CloudWatch Alarm State Change"),
        ("aws.ce", "Anomaly Detected"),
    }
    for rule in rules:
        (target,) = rule["Properties"]["Targets"]
        assert target["Arn"] == _ingest_arn(synthesis)
        assert "DeadLetterConfig" in target


def test_ingest_starts_the_state_machine_and_knows_it(synthesis: Synthesis) -> None:
    template = synthesis.template(STACK)
    config = synthesis.config
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": config.function_name("ingest"),
            "Handler": "functions.ingest.handler.handler",
            "Environment": {"Variables": Match.object_like({"STATE_MACHINE_ARN": Match.any_value()})},
        },
    )
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Action": "states:StartExecution", "Effect": "Allow"})]
                )
            }
        },
    )


def test_undeliverable_alerts_land_in_an_encrypted_tls_only_dead_letter_queue(synthesis: Synthesis) -> None:
    template = synthesis.template(STACK)
    template.resource_count_is("AWS::SQS::Queue", 1)
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {"QueueName": synthesis.config.ingest_dead_letters_name, "SqsManagedSseEnabled": True},
    )
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {"DestinationConfig": {"OnFailure": {"Destination": Match.any_value()}}, "MaximumRetryAttempts": 2},
    )


def test_topic_names_carry_the_route_ingest_reads_from_them(synthesis: Synthesis) -> None:
    # ingest routes by topic name: "heartbeat" in it means the heartbeat route, anything else is critical
    names = {t["Properties"]["TopicName"] for t in synthesis.resources(STACK, "AWS::SNS::Topic").values()}
    heartbeat = {name for name in names if "heartbeat" in name}
    assert len(heartbeat) == 1
    assert len(names - heartbeat) == 1


def test_topic_arns_are_stack_outputs_for_subscribing_budgets_and_alarms(synthesis: Synthesis) -> None:
    outputs = synthesis.raw[STACK]["Outputs"]
    assert {"CriticalAlertsTopicArn", "HeartbeatAlertsTopicArn"} <= set(outputs)


def test_the_alarm_rule_never_matches_alert_intels_own_alarms(synthesis: Synthesis) -> None:
    rules = synthesis.resources("Sns", "AWS::Events::Rule")
    (alarm_rule,) = [r for r in rules.values() if "aws.cloudwatch" in r["Properties"]["EventPattern"]["source"]]
    detail = alarm_rule["Properties"]["EventPattern"]["detail"]
    assert detail["alarmName"] == [{"anything-but": {"prefix": synthesis.config.resource_name("")}}]
    # and the monitoring stack's alarms all carry that prefix and notify the ops topic only
    for alarm in synthesis.resources("Monitoring", "AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmName"].startswith(synthesis.config.resource_name(""))
        assert len(alarm["Properties"]["AlarmActions"]) == 1


def test_ingest_knows_the_alert_topics_and_the_own_alarm_prefix(synthesis: Synthesis) -> None:
    logical_id = synthesis.logical_id_of_function("Sns", "ingest")
    variables = synthesis.raw["Sns"]["Resources"][logical_id]["Properties"]["Environment"]["Variables"]
    assert variables["OWN_ALARM_PREFIX"] == synthesis.config.resource_name("")
    assert "ALERT_TOPIC_ARNS" in variables
