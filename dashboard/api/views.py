from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from pydantic import BaseModel, Field

from dashboard.api import openapi as openapi_document
from dashboard.api.auth import api_view
from dashboard.api.operations import Operation


class Me(BaseModel):
    """The tenant and role the key acts as."""

    tenant_id: str | None = Field(examples=["acme"])
    key_id: str = Field(examples=["key_01JD…"])
    role: str = Field(examples=["api"])


@api_view({"GET": Operation("Who this key acts as", {200: Me}, tags=["keys"])})
def me(request: HttpRequest) -> Me:
    """Who the key acts as: lets a client check its key before sending data."""
    return Me(tenant_id=request.scope.tenant_id, key_id=request.scope.actor_id, role=request.scope.role)


@require_GET
def openapi(request: HttpRequest) -> JsonResponse:
    """The OpenAPI 3.1 document, generated from the operations that validate the requests."""
    return JsonResponse(openapi_document.document(), json_dumps_params={"ensure_ascii": False})


@require_GET
def docs(request: HttpRequest):
    """The document as a page: every operation, its parameters, body and answers (no script, no CDN)."""
    document = openapi_document.document()
    operations = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            operations.append(
                {
                    "id": operation.get("operationId", f"{method}-{path}"),
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": operation.get("parameters", []),
                    "body": openapi_document.body_summary(operation, document),
                    "responses": [
                        {"status": status, "description": answer.get("description", "")}
                        for status, answer in operation["responses"].items()
                    ],
                }
            )
    return render(
        request,
        "api/docs.html",
        {
            "info": document["info"],
            "operations": operations,
            "schemas": sorted(document["components"]["schemas"]),
        },
    )
