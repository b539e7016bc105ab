"""Named errors: the contract between Python and the state machine.

The ASL retries and catches these by class name (Lambda reports an unhandled exception's class as its error
type), so renaming one is a change to `statemachines/alert_pipeline.asl.json` too.
"""


class AlertIntelError(Exception):
    """Base class for every error this project raises on purpose."""


class InvalidStageInputError(AlertIntelError):
    """A stage received input it cannot parse; the message says which field and why."""


class GatherThrottledError(AlertIntelError):
    """An AWS read API throttled a gather stage; the state machine retries the branch with backoff."""


class BedrockThrottledError(AlertIntelError):
    """Bedrock throttled the analysis call; the state machine retries, then falls back to the rules."""


class SlackRateLimitedError(AlertIntelError):
    """Slack answered 429 even after honouring Retry-After once; the state machine retries with backoff."""


class SlackPostError(AlertIntelError):
    """Slack rejected the message for a reason retrying cannot fix (bad webhook, bad payload): fail loudly."""


class ConfigurationError(AlertIntelError):
    """A setting or secret the stage needs is missing or malformed."""


class AwsReadDeniedError(AlertIntelError):
    """A read-only AWS call was denied; `permission` names the IAM action the role lacks (e.g. "ce:GetCostAndUsage").

    Gather stages report it in their section (status "error") rather than failing the branch.
    """

    def __init__(self, permission: str, message: str = "") -> None:
        super().__init__(message or f"missing permission {permission}")
        self.permission = permission


class AwsReadUnavailableError(AlertIntelError):
    """A read-only AWS call failed for a reason other than throttling or permissions (not found, unsupported)."""
