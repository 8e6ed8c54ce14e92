"""Turn pydantic's validation errors into :class:`FlowValidationError` naming the part."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from flowkit.errors import FlowValidationError
from flowkit.model.problems import validation_problems

__all__ = ["build"]

M = TypeVar("M", bound=BaseModel)


def build(model: type[M], fields: Mapping[str, Any], what: str) -> M:
    """Validate ``fields`` into ``model``.

    :param model: the pydantic model class.
    :param fields: the field values.
    :param what: how to name the part in a message, e.g. ``"node 'faiss_0'"``.
    :raises FlowValidationError: one problem per invalid field, each naming ``what``.
    """
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise FlowValidationError(validation_problems(exc, what)) from None
