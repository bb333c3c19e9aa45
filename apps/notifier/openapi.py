"""The OpenAPI 3.1 description of the notifier's HTTP API, served at ``GET /openapi.json``.

Written by hand beside the routes of :func:`apps.notifier.web.build_web_app`; the bodies' schemas
come from the message contracts, so they cannot drift from what the server sends and reads.
``tests/notifier/test_openapi.py`` checks that every route the server has is described here and
that the status codes the server answers are the ones listed.
"""

from __future__ import annotations

from pydantic.json_schema import models_json_schema

from fogverse.contracts import CATEGORIES, MAX_TEXT_CHARS, DeviceRegistration, Incident, IncidentEvent

SCHEMAS = "#/components/schemas/"


def openapi_document(*, max_body_bytes: int, max_body_depth: int, incidents_limit_max: int) -> dict:
    """The document; the limits are the server's own (``apps.notifier.web``)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Siaga notifier",
            "version": "1",
            "description": (
                "Incidents the notifier built from the analyzer's emergencies, their live feed, and push "
                "registration for the receiver web app. Every error answers JSON {\"error\": \"...\"}. "
                f"Request bodies are JSON sent as application/json only (else 415), at most {max_body_bytes} "
                f"bytes (413) and {max_body_depth} levels deep (400). Unknown paths answer 404, a known path "
                "with another method 405 (with Allow). Every GET also answers HEAD."),
        },
        "paths": {
            "/": _file("page", "The receiver web app's page.", "text/html"),
            "/sw.js": _file("service_worker", "The receiver's service worker, served from the root so its scope "
                            "is the whole app (Service-Worker-Allowed: /).", "text/javascript"),
            "/manifest.webmanifest": _file("manifest", "The receiver's web app manifest.",
                                           "application/manifest+json"),
            "/static/{file}": {"get": {
                "summary": "The receiver's static files (scripts, styles, icons).",
                "operationId": "static_file",
                "parameters": [{"name": "file", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "the file"}, "404": _described_error("no such file")},
            }},
            "/api/incidents": {"get": {
                "summary": "Incidents, most recently seen first.",
                "operationId": "list_incidents",
                "parameters": [_CATEGORY, {
                    "name": "limit", "in": "query", "required": False,
                    "description": f"at most this many (default {incidents_limit_max})",
                    "schema": {"type": "integer", "minimum": 1, "maximum": incidents_limit_max},
                }],
                "responses": {
                    "200": _json("the incidents", {"type": "array", "items": {"$ref": SCHEMAS + "Incident"}}),
                    "400": _described_error("an unknown category, or a limit that is not a whole number "
                                            f"from 1 to {incidents_limit_max}"),
                },
            }},
            "/api/incidents/{incident_id}": {"get": {
                "summary": "One incident.",
                "operationId": "get_incident",
                "parameters": [{"name": "incident_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    "200": _json("the incident", {"$ref": SCHEMAS + "Incident"}),
                    "404": _described_error("no such incident"),
                },
            }},
            "/api/events": {"get": {
                "summary": "The live feed (server-sent events).",
                "description": (
                    "First one `snapshot` event whose data is {\"incidents\": [Incident, ...]} (every incident, "
                    "of the category if one is given), then an `incident` event per change, its data an "
                    "IncidentEvent, and a `: keep-alive` comment while idle (SSE_KEEPALIVE). A client slower "
                    "than SSE_WRITE_TIMEOUT to take a write is dropped; EventSource reconnects (retry: 2000)."),
                "operationId": "incident_events",
                "parameters": [_CATEGORY],
                "responses": {
                    "200": {"description": "the event stream",
                            "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                    "400": _described_error("an unknown category"),
                    "503": _described_error("SSE_MAX_CLIENTS live-feed clients are already connected"),
                },
            }},
            "/api/devices": {
                "post": {
                    "summary": "Register a push token.",
                    "operationId": "register_device",
                    "requestBody": _REGISTRATION,
                    "responses": {
                        "201": _json("a new token", _DEVICE_ANSWER),
                        "200": _json("a token already known", _DEVICE_ANSWER),
                        **_BODY_ERRORS,
                        "507": _described_error("DEVICE_MAX devices are registered already"),
                    },
                },
                "delete": {
                    "summary": "Forget a push token.",
                    "operationId": "forget_device",
                    "requestBody": _REGISTRATION,
                    "responses": {
                        "200": _json("forgotten", {"type": "object", "required": ["registered"],
                                                   "properties": {"registered": {"const": False}}}),
                        **_BODY_ERRORS,
                        "403": _described_error("a DEVICE_TOKENS token, which only the configuration removes"),
                        "404": _described_error("no such device"),
                    },
                },
            },
            "/api/config": {"get": {
                "summary": "What the receiver needs to start.",
                "operationId": "receiver_config",
                "responses": {"200": _json("the configuration", {
                    "type": "object",
                    "required": ["firebase", "push", "categories", "alert_counts", "max_text_chars"],
                    "properties": {
                        "firebase": {"type": ["object", "null"],
                                     "description": "FIREBASE_WEB_CONFIG (public, not a secret), or null"},
                        "push": {"type": "boolean", "description": "whether push is configured (FIREBASE_KEY)"},
                        "categories": {"type": "array", "items": {"enum": list(CATEGORIES)}},
                        "alert_counts": {"type": "array", "items": {"type": "integer"},
                                         "description": "INCIDENT_ALERT_COUNTS"},
                        "max_text_chars": {"const": MAX_TEXT_CHARS},
                    },
                })},
            }},
            "/healthz": {"get": {
                "summary": "Liveness and a few counts.",
                "operationId": "health",
                "responses": {"200": _json("alive", {
                    "type": "object",
                    "required": ["status", "consuming", "incidents", "ignored", "duplicates", "devices", "push",
                                 "feed_subscribers", "feed_evicted"],
                    "properties": {
                        "status": {"const": "ok"},
                        "consuming": {"type": "boolean", "description": "whether it reads the client topic"},
                        "incidents": {"type": "integer"},
                        "ignored": {"type": "integer", "description": "analyses that were not emergencies"},
                        "duplicates": {"type": "integer", "description": "reports seen before (redeliveries)"},
                        "devices": {"type": "integer", "description": "registered and configured push tokens"},
                        "push": {"type": "boolean"},
                        "feed_subscribers": {"type": "integer"},
                        "feed_evicted": {"type": "integer", "description": "live-feed clients dropped as too slow"},
                    },
                })},
            }},
            "/metrics": {"get": {
                "summary": "The process's Prometheus metrics (README: Metrics).",
                "operationId": "metrics",
                "responses": {"200": {"description": "the Prometheus text exposition format",
                                      "content": {"text/plain": {"schema": {"type": "string"}}}}},
            }},
            "/openapi.json": {"get": {
                "summary": "This document.",
                "operationId": "openapi",
                "responses": {"200": _json("the OpenAPI document", {"type": "object"})},
            }},
        },
        "components": {"schemas": {**_contract_schemas(), "Error": _ERROR_SCHEMA}},
    }


def _contract_schemas() -> dict:
    _, schema = models_json_schema([(m, "serialization") for m in (Incident, IncidentEvent)] +
                                   [(DeviceRegistration, "validation")], ref_template=SCHEMAS + "{model}")
    return schema["$defs"]


_ERROR_SCHEMA = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
_ERROR = {"description": "an error", "content": {"application/json": {"schema": {"$ref": SCHEMAS + "Error"}}}}
_DEVICE_ANSWER = {"type": "object", "required": ["registered", "new"],
                  "properties": {"registered": {"const": True}, "new": {"type": "boolean"}}}
_REGISTRATION = {"required": True,
                 "content": {"application/json": {"schema": {"$ref": SCHEMAS + "DeviceRegistration"}}}}
_CATEGORY = {"name": "category", "in": "query", "required": False, "description": "only incidents of this category",
             "schema": {"enum": list(CATEGORIES)}}


def _described_error(description: str) -> dict:
    return {**_ERROR, "description": description}


_BODY_ERRORS = {
    "400": _described_error("not JSON, nested too deep, or not a valid token"),
    "413": _described_error("a body over the size limit"),
    "415": _described_error("a body not sent as application/json"),
    "429": {**_described_error("over DEVICE_RATE_LIMIT device requests this minute from one address"),
            "headers": {"Retry-After": {"schema": {"type": "integer"}}}},
}


def _json(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _file(operation_id: str, summary: str, media_type: str) -> dict:
    return {"get": {"summary": summary, "operationId": operation_id,
                    "responses": {"200": {"description": "the file", "content": {media_type: {}}}}}}
