"""Errors the API answers with: JSON, in French, naming the parameter at fault."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A request the API refuses; ``parameter`` is the query parameter (or path part) at fault."""

    def __init__(self, status: int, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameter = parameter

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"erreur": self.message, "statut": self.status}
        if self.parameter:
            body["parametre"] = self.parameter
        return body


def bad(parameter: str, message: str) -> ApiError:
    return ApiError(400, message, parameter)
