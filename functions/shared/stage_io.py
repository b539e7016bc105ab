"""The handler boundary of every pipeline stage: parsing its event, bounding its errors and its output."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.parser import parse
from pydantic import BaseModel, ValidationError

from functions.shared.errors import AlertIntelError, InvalidStageInputError
from functions.shared.observability import logger
from functions.shared.payload_bounds import MAX_STATE_OUTPUT_BYTES, fits, json_size, shrink_json
from functions.shared.untrusted_text import clean_text

ModelT = TypeVar("ModelT", bound=BaseModel)


def parse_stage_input(event: Any, model: type[ModelT]) -> ModelT:
    """Parse `event` into `model` with Powertools' parser.

    Raises:
        InvalidStageInputError: the event does not fit the model; the message lists each bad field.
    """
    try:
        return parse(event=event, model=model)
    except (ValidationError, ValueError) as exc:
        errors = exc.errors() if isinstance(exc, ValidationError) else [{"loc": (), "msg": str(exc)}]
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '<event>'}: {e['msg']}" for e in errors[:5])
        raise InvalidStageInputError(f"{model.__name__} input rejected: {where}") from exc


# Error messages and stack traces reach the execution history (a Catch puts them in the state, and the
# "Context Unavailable" states copy them), so they are bounded like every other state payload.
MAX_ERROR_MESSAGE_CHARS = 800
_BOUNDED_ERROR_CLASSES: dict[str, type[Exception]] = {}

Handler = Callable[[Any, Any], Any]


def bounded_error(exc: Exception) -> Exception:
    """`exc` with its traceback dropped and its message cut to MAX_ERROR_MESSAGE_CHARS, keeping its class (what
    Step Functions matches in Retry and Catch), so a RecursionError's thousand frames or an error message that
    quotes a 200 KB alert cannot blow up the state that catches it. An exception whose message cannot be
    replaced becomes an instance of a class with the same name."""
    original = str(exc)
    message = clean_text(original)
    if len(message) > MAX_ERROR_MESSAGE_CHARS:
        message = message[: MAX_ERROR_MESSAGE_CHARS - 1] + "…"
    if message != original:
        with contextlib.suppress(Exception):  # an exception type may refuse new args: replaced below
            exc.args = (message,)
        if str(exc) != message:
            exc = _same_name_error(exc, message)
    return exc.with_traceback(None)


def _same_name_error(exc: Exception, message: str) -> Exception:
    name = type(exc).__name__
    cls = _BOUNDED_ERROR_CLASSES.get(name)
    if cls is None:
        cls = type(name, (AlertIntelError,), {"__module__": type(exc).__module__})
        _BOUNDED_ERROR_CLASSES[name] = cls
    return cls(message)


WARMED_UP: dict[str, bool] = {"warmed_up": True}


def is_warm_up(event: Any) -> bool:
    """What the state machine sends a later stage while the context is gathered ("Warm Up …" branches of "Gather
    Context", decision 0026): exactly `{"warm_up": true}` — the JSON flag, not 1 or "true", and no other key — so
    no stage input can be mistaken for it."""
    return isinstance(event, dict) and event.keys() == {"warm_up"} and event["warm_up"] is True


def bounded_stage(max_output_bytes: int = MAX_STATE_OUTPUT_BYTES) -> Callable[[Handler], Handler]:
    """Decorate a pipeline stage's handler (outermost, so Powertools still sees the original error):

    * a warm-up request (`is_warm_up`) returns at once: the Lambda init, which imported the stage and ran its
      warm-ups, was the point; nothing is read, logged or counted;
    * an exception leaves as `bounded_error(exc)`: same name for the ASL, bounded message, short trace;
    * a result larger than `max_output_bytes` is shrunk structurally (see `shrink_json`) and a warning logged.
      Each stage bounds its own parts tighter than this; this is the net under those bounds.
    """

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def wrapper(event: Any, context: Any) -> Any:
            if is_warm_up(event):
                return dict(WARMED_UP)
            try:
                result = handler(event, context)
            except Exception as exc:
                raise bounded_error(exc) from None
            if not fits(result, max_output_bytes):
                logger.warning("Stage output over its bound; shrinking it", extra={"bytes": json_size(result)})
                result = shrink_json(result, max_output_bytes)
            return result

        return wrapper

    return decorate
