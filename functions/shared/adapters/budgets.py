"""AWS Budgets reads: each budget's limit, actual spend and forecast."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from functions.shared.adapters.aws import aws_client
from functions.shared.adapters.aws_reads import aws_read
from functions.shared.cache import cache_key, cached


class BudgetStatus(BaseModel):
    name: str
    budget_type: str = "COST"
    time_unit: str = "MONTHLY"
    limit: float | None = None
    actual: float | None = None
    forecasted: float | None = None
    unit: str = "USD"

    @property
    def percent_used(self) -> float | None:
        if self.actual is None or not self.limit:
            return None
        return self.actual / self.limit * 100


def _amount(spend: dict[str, Any] | None) -> float | None:
    try:
        return float(spend["Amount"]) if spend else None
    except (KeyError, TypeError, ValueError):
        return None


class BudgetsReader:
    def __init__(self, client: Any = None, sts_client: Any = None) -> None:
        # Budgets is global, served from us-east-1.
        self._client = client or aws_client("budgets", "us-east-1")
        self._sts = sts_client

    def account_id(self) -> str:
        """This account's ID (from STS, which needs no permission).

        Raises:
            AwsReadUnavailableError: STS could not be reached.
        """
        sts = self._sts or aws_client("sts")
        return str(aws_read("sts:GetCallerIdentity", sts.get_caller_identity)["Account"])

    def budgets(self, account_id: str) -> list[BudgetStatus]:
        """Every budget of the account (up to 100) with its calculated spend.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("budgets:ViewBudget"), AwsReadUnavailableError.
        """
        return cached(cache_key("budgets.describe_budgets", account_id), lambda: self._fetch(account_id))

    def _fetch(self, account_id: str) -> list[BudgetStatus]:
        response = aws_read("budgets:ViewBudget", self._client.describe_budgets, AccountId=account_id, MaxResults=100)
        statuses = []
        for budget in response.get("Budgets", []):
            spend = budget.get("CalculatedSpend") or {}
            limit = budget.get("BudgetLimit") or {}
            statuses.append(
                BudgetStatus(
                    name=budget.get("BudgetName", ""),
                    budget_type=budget.get("BudgetType", "COST"),
                    time_unit=budget.get("TimeUnit", "MONTHLY"),
                    limit=_amount(limit),
                    actual=_amount(spend.get("ActualSpend")),
                    forecasted=_amount(spend.get("ForecastedSpend")),
                    unit=limit.get("Unit", "USD"),
                )
            )
        return statuses
