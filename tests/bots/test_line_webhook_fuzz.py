"""Random bodies and headers at the running LINE webhook: never a 5xx, never a crash.

Half the examples carry a valid signature, so the fuzzing reaches the JSON and event parsing
behind it instead of stopping at the signature check.
"""

from __future__ import annotations

import http.client
import json
import uuid

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from apps.line_bot.signature import sign
from fogverse.processes import free_port

from bot_processes import app_env, start_app
from line_events import ACCESS_TOKEN, SECRET, text_event

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


def maybe(valid):
    """Mostly the real value (so validation gets deep), sometimes anything at all."""
    return st.one_of(st.just(valid), st.just(valid), json_values)


_template = text_event("template")
event_like = st.fixed_dictionaries(
    {key: maybe(value) for key, value in _template.items() if key not in ("message", "source", "deliveryContext")},
    optional={
        "message": st.fixed_dictionaries({k: maybe(v) for k, v in _template["message"].items()}) | json_values,
        "source": st.fixed_dictionaries({k: maybe(v) for k, v in _template["source"].items()}) | json_values,
        "deliveryContext": st.fixed_dictionaries({"isRedelivery": st.booleans() | json_values}),
    },
)
webhook_like = st.fixed_dictionaries({"events": st.lists(event_like | json_values, max_size=4)},
                                     optional={"destination": json_values})
bodies = st.one_of(
    st.binary(max_size=2000),
    json_values.map(lambda v: json.dumps(v).encode()),
    webhook_like.map(lambda v: json.dumps(v).encode()),
)
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=60)
header_names = st.sampled_from(["Content-Type", "Content-Encoding", "Accept", "User-Agent", "X-Line-Retry-Key",
                                "X-Forwarded-For", "Cookie", "X-Line-Signature", "X-Random"])
extra_headers = st.dictionaries(header_names, header_text | st.sampled_from(["gzip", "deflate", "br", "zstd",
                                                                              "application/json", "identity"]),
                                max_size=4)


@pytest.fixture(scope="module")
def fuzzed_bot(kafka_bootstrap, tmp_path_factory):
    port, topic = free_port(), f"line-fuzz-{uuid.uuid4().hex[:8]}"
    env = app_env(kafka_bootstrap, CHANNEL_SECRET=SECRET, CHANNEL_ACCESS_TOKEN=ACCESS_TOKEN,
                  MOKE_PRODUCER_TOPIC=topic, PORT=port, LINE_HOST="127.0.0.1",
                  LINE_API_HOST=f"http://127.0.0.1:{free_port()}",  # nothing there: every reply fails
                  OBSERVER_TOPIC=f"{topic}.observer", LINE_PUBLISH_TIMEOUT="5")
    process = start_app("apps.line_bot", env, tmp_path_factory.mktemp("fuzz") / "line_bot.log", port)
    yield process, port
    process.stop()


def request(port: int, method: str, path: str, raw: bytes, headers: dict[str, str]) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=raw, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(raw=bodies, headers=extra_headers, signature=st.sampled_from(["valid", "valid", "random", "absent"]))
def test_random_requests_never_get_a_5xx(fuzzed_bot, raw, headers, signature):
    process, port = fuzzed_bot
    headers = dict(headers)
    if signature == "valid":
        headers["X-Line-Signature"] = sign(SECRET, raw)
    elif signature == "absent":
        headers.pop("X-Line-Signature", None)
    status = request(port, "POST", "/callback", raw, headers)
    assert status < 500, f"{status} for headers={headers} body={raw[:200]!r}\n{process.tail()}"
    if signature != "valid":
        assert 400 <= status < 500  # unsigned or badly signed: refused, whatever else is wrong with it
    event(f"{signature} signature ▸ {status}")
    assert process.alive(), process.tail()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "OPTIONS"]),
       path=st.sampled_from(["/callback", "/", "/healthz/x", "/callback/..%2f", "/%00"]))
def test_other_methods_and_paths_get_a_4xx(fuzzed_bot, method, path):
    process, port = fuzzed_bot
    assert 400 <= request(port, method, path, b"", {}) < 500
    assert request(port, "GET", "/healthz", b"", {}) == 200
