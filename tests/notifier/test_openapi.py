"""``GET /openapi.json``: the notifier describes its whole HTTP API, and the description is true."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from openapi_spec_validator import validate

from apps.notifier.web import INCIDENTS_LIMIT_MAX, MAX_BODY_BYTES
from kafka_helpers import produce
from notifier_harness import analysis_json, notifier_env, poll_json, running_notifier

CONFIGURED = "configured-token"


def served_operations(app: web.Application) -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every route the server has; HEAD is aiohttp's twin of each GET."""
    operations = set()
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        operations.add((route.method.lower(), route.resource.canonical))
    return operations


def documented_operations(document: dict) -> set[tuple[str, str]]:
    return {(method, path) for path, item in document["paths"].items() for method in item}


async def test_the_running_notifier_describes_every_route_it_serves(kafka_bootstrap, topic_name, tmp_path):
    env = notifier_env(kafka_bootstrap, topic_name("client"), tmp_path)
    async with running_notifier(env) as notifier, aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{env['NOTIFIER_PORT']}/openapi.json") as response:
            assert response.status == 200 and response.content_type == "application/json"
            document = await response.json()
        routes = served_operations(notifier.web_app)

    validate(document)  # OpenAPI 3.1, structurally (openapi-spec-validator), every $ref resolving
    assert document["openapi"].startswith("3.")
    assert documented_operations(document) == routes
    assert {("get", "/api/incidents/{incident_id}"), ("delete", "/api/devices"), ("get", "/openapi.json")} <= routes
    limit = {p["name"]: p for p in document["paths"]["/api/incidents"]["get"]["parameters"]}["limit"]
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": INCIDENTS_LIMIT_MAX}
    assert str(MAX_BODY_BYTES) in document["info"]["description"]


async def test_every_status_the_notifier_answers_is_documented_for_its_route(kafka_bootstrap, topic_name, tmp_path):
    topic = topic_name("client")
    env = notifier_env(kafka_bootstrap, topic, tmp_path, DEVICE_TOKENS=CONFIGURED, DEVICE_RATE_LIMIT=8)
    base = f"http://127.0.0.1:{env['NOTIFIER_PORT']}"
    # (method, path template, the path asked for, request options, the status it must answer)
    exchanges = [
        ("get", "/", "/", {}, 200),
        ("get", "/sw.js", "/sw.js", {}, 200),
        ("get", "/manifest.webmanifest", "/manifest.webmanifest", {}, 200),
        ("get", "/static/{file}", "/static/app.js", {}, 200),
        ("get", "/static/{file}", "/static/nothing.js", {}, 404),
        ("get", "/static/{file}", "/static/..%2F..%2Fpyproject.toml", {}, 404),
        ("get", "/api/incidents", "/api/incidents?category=fire&limit=5", {}, 200),
        ("get", "/api/incidents", "/api/incidents?limit=0", {}, 400),
        ("get", "/api/incidents", "/api/incidents?category=zombies", {}, 400),
        ("get", "/api/incidents/{incident_id}", "/api/incidents/{incident}", {}, 200),
        ("get", "/api/incidents/{incident_id}", "/api/incidents/nope", {}, 404),
        ("get", "/api/events", "/api/events?category=fire", {}, 200),
        ("get", "/api/events", "/api/events?category=zombies", {}, 400),
        ("get", "/api/config", "/api/config", {}, 200),
        ("get", "/healthz", "/healthz", {}, 200),
        ("get", "/openapi.json", "/openapi.json", {}, 200),
        ("get", "/metrics", "/metrics", {}, 200),
        # eight device requests (DEVICE_RATE_LIMIT), then the ninth is refused
        ("post", "/api/devices", "/api/devices", {"json": {"token": "browser-1"}}, 201),
        ("post", "/api/devices", "/api/devices", {"json": {"token": "browser-1"}}, 200),
        ("post", "/api/devices", "/api/devices", {"data": '{"token": "x"}', "headers": {"Content-Type": "text/plain"}},
         415),
        ("post", "/api/devices", "/api/devices", {"json": {"token": "not a token!"}}, 400),
        ("post", "/api/devices", "/api/devices", {"json": {"token": "x" * MAX_BODY_BYTES}}, 413),
        ("delete", "/api/devices", "/api/devices", {"json": {"token": "browser-1"}}, 200),
        ("delete", "/api/devices", "/api/devices", {"json": {"token": "browser-1"}}, 404),
        ("delete", "/api/devices", "/api/devices", {"json": {"token": CONFIGURED}}, 403),
        ("delete", "/api/devices", "/api/devices", {"json": {"token": "browser-2"}}, 429),
    ]
    async with running_notifier(env), aiohttp.ClientSession() as http:
        async with http.get(f"{base}/openapi.json") as response:
            document = await response.json()
        await produce(kafka_bootstrap, topic, [analysis_json("Huge fire at the Riverside warehouse")])
        incident = (await poll_json(f"{base}/api/incidents", lambda body: len(body) == 1))[0]["id"]
        answered = []
        for method, template, path, options, expected in exchanges:
            async with http.request(method, base + path.format(incident=incident), **options) as response:
                answered.append((method, path, response.status, expected))
                if response.status >= 400:
                    assert "error" in await response.json(), f"{method} {path}: errors answer JSON"

    assert [(m, p, status) for m, p, status, _ in answered] == [(m, p, expected) for m, p, _, expected in answered]
    undocumented = [(method, path, status) for (method, template, path, _, _), (_, _, status, _)
                    in zip(exchanges, answered) if str(status) not in document["paths"][template][method]["responses"]]
    assert not undocumented, f"statuses the server answers but the document does not list: {undocumented}"
