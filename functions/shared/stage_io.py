"""Parsing a stage's event at the handler boundary."""

from __future__ import annotations

from typing import Any, TypeVar

from aws_lambda_powertools.utilities.parser import parse
from pydantic import BaseModel, ValidationError

from functions.shared.errors import InvalidStageInputError

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
