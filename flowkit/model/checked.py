"""The base of flowkit's models: pydantic models whose errors are flowkit's.

A :class:`Chatflow`, :class:`Node`, :class:`Edge`, :class:`Tool` or :class:`Assistant` built
or changed with a wrong value raises :class:`~flowkit.errors.FlowValidationError` (a
``FlowkitError`` and a ``ValueError``) naming the field, never pydantic's own
``ValidationError``: ``except FlowkitError`` catches everything flowkit raises.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from flowkit.errors import FlowValidationError
from flowkit.model.problems import validation_problems

__all__ = ["CheckedModel"]


class CheckedModel(BaseModel):
    """A pydantic model whose constructor and attribute assignment raise
    :class:`~flowkit.errors.FlowValidationError` instead of pydantic's ``ValidationError``.

    ``model_validate`` keeps pydantic's behaviour (flowkit's loaders catch it and name the
    part at fault themselves).
    """

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise FlowValidationError(validation_problems(exc, type(self).__name__)) from None

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            super().__setattr__(name, value)
        except ValidationError as exc:
            raise FlowValidationError(validation_problems(exc, type(self).__name__)) from None
