"""A route class whose JSON parsing cannot be crashed by deeply nested input, and which refuses
query parameters the route does not declare.

Why this exists: web3 imports py_ecc, which raises Python's recursion limit to 100000 for the
whole process. The stdlib JSON parser honours that limit, so a body of 100k nested brackets
overflows the C stack and kills the process instead of raising ``RecursionError``. The body is
therefore measured first with the library's `ledger.jsonsafe.check_json_depth` (the check the
CLI importer uses too); too deep a document is reported like any malformed JSON (400
``malformed_json``).

Unknown query parameters are refused (422 ``unknown_field``) for the reason unknown body fields
are: a misspelt ``?wiat=false`` must not silently wait for the transaction to be mined.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from api.errors import error_content
from ledger.jsonsafe import JSONTooDeepError, check_json_depth

__all__ = ["MAX_BODY_BYTES", "GuardedRequest", "GuardedRoute"]

MAX_BODY_BYTES = 8 * 1024 * 1024
"""Large enough for a 1000-item batch with generous metadata."""


class GuardedRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                check_json_depth(body)
            except JSONTooDeepError as exc:
                # FastAPI turns a JSONDecodeError into the usual malformed-JSON answer.
                raise json.JSONDecodeError(str(exc), body.decode(errors="replace"), 0) from None
            self._json = json.loads(body)
        return self._json


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameters a route reads, its dependencies' included (``?wait``)."""
    names = {param.alias for param in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _query_names(dependency)
    return names


class GuardedRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        declared = _query_names(self.dependant)

        async def guarded(request: Request) -> Response:
            unknown = sorted(set(request.query_params) - declared)
            if unknown:
                names = ", ".join(repr(name) for name in unknown)
                return JSONResponse(
                    error_content(
                        "unknown_field", f"unknown query parameter {names}", field=unknown[0]
                    ),
                    status_code=422,
                )
            return await handler(GuardedRequest(request.scope, request.receive))

        return guarded
