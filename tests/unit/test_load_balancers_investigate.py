"""Target groups: a group that is not there, or cannot be read, is said so in one note."""

from __future__ import annotations

from typing import Any

from functions.shared.errors import AwsReadDeniedError
from functions.shared.investigate.load_balancers import target_group_evidence
from functions.shared.investigate.target import Target

DIMENSION = "targetgroup/web-tg/0123456789abcdef"


class FakeTargetGroups:
    def __init__(self, groups: list[dict[str, Any]] | None) -> None:
        # None stands for a role that may not describe target groups.
        self._groups = groups

    def target_groups(self, *, load_balancer_arn: str | None = None, name: str | None = None) -> list[dict[str, Any]]:
        if self._groups is None:
            raise AwsReadDeniedError("elasticloadbalancing:DescribeTargetGroups")
        return self._groups


def test_a_target_group_that_is_not_there_is_said_to_be_missing():
    evidence = target_group_evidence(FakeTargetGroups([]), Target.of("target_group", DIMENSION, None))  # type: ignore[arg-type]
    assert evidence.facts == []
    assert evidence.notes == ["No target group named web-tg in this account and region."]


def test_a_target_group_that_cannot_be_read_says_why_and_not_that_it_is_missing():
    evidence = target_group_evidence(FakeTargetGroups(None), Target.of("target_group", DIMENSION, None))  # type: ignore[arg-type]
    assert evidence.notes == [
        "Could not read target group web-tg: missing permission elasticloadbalancing:DescribeTargetGroups."
    ]
    assert evidence.missing_permissions == ["elasticloadbalancing:DescribeTargetGroups"]
