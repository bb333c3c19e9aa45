"""A local stand-in for Google's OAuth token endpoint and the FCM v1 send endpoint.

The real firebase-admin client talks to it over real HTTP: the fake service-account key's
``token_uri`` points here, and the notifier's ``FCM_ENDPOINT`` replaces https://fcm.googleapis.com.
Every send is recorded once it is answered; chosen tokens can answer UNREGISTERED,
INVALID_ARGUMENT, or a scripted series of statuses (429 / 503 once, then success); chosen
incidents can be slow or throttled. A send whose client goes away before it is answered (the
notifier killed mid-request) is not recorded as a send but counted in ``abandoned``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

PROJECT = "siaga-test"
ACCESS_TOKEN = "stand-in-access-token"


@dataclass
class Send:
    token: str
    authorization: str
    message: dict
    status: int


@dataclass
class FcmStandIn:
    gone: set[str] = field(default_factory=set)  # answer 404 UNREGISTERED
    invalid: set[str] = field(default_factory=set)  # answer 400 INVALID_ARGUMENT about the token
    scripted: dict[str, list[int]] = field(default_factory=dict)  # statuses to answer first, in order
    delay_s: float = 0.0
    slow: dict[str, float] = field(default_factory=dict)  # incident id ▸ seconds before answering
    throttled: dict[str, int] = field(default_factory=dict)  # incident id ▸ how many sends answer 429 first
    sends: list[Send] = field(default_factory=list)
    abandoned: int = 0
    answering: int = 0  # sends received and not yet answered
    token_requests: int = 0
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> "FcmStandIn":
        app = web.Application()
        app.router.add_post("/token", self._token)
        app.router.add_post("/v1/projects/{project}/messages:send", self._send)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def sends_to(self, token: str) -> list[Send]:
        return [s for s in self.sends if s.token == token]

    def delivered(self) -> list[Send]:
        """Sends that were answered with success."""
        return [s for s in self.sends if s.status == 200]

    def delivered_for(self, incident_id: str) -> list[Send]:
        return [s for s in self.delivered() if s.message.get("data", {}).get("incident_id") == incident_id]

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        assert form.get("grant_type") == "urn:ietf:params:oauth:grant-type:jwt-bearer", form
        self.token_requests += 1
        return web.json_response({"access_token": ACCESS_TOKEN, "expires_in": 3600, "token_type": "Bearer"})

    async def _send(self, request: web.Request) -> web.Response:
        message = (await request.json())["message"]
        incident_id = message.get("data", {}).get("incident_id", "")
        self.answering += 1
        try:
            delay = self.delay_s + self.slow.get(incident_id, 0.0)
            if delay:
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            self.abandoned += 1
            raise
        finally:
            self.answering -= 1
        if self.throttled.get(incident_id):
            self.throttled[incident_id] -= 1
            response = _error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", "QUOTA_EXCEEDED")
        else:
            response = self._answer(request.match_info["project"], message.get("token", ""))
        self.sends.append(Send(message.get("token", ""), request.headers.get("Authorization", ""), message,
                               response.status))
        return response

    def _answer(self, project: str, token: str) -> web.Response:
        if project != PROJECT:
            return _error(404, "NOT_FOUND", "no such project")
        if token in self.gone:
            return _error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
        if token in self.invalid:
            return _error(400, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token",
                          "INVALID_ARGUMENT")
        script = self.scripted.get(token)
        if script:
            status = script.pop(0)
            if status == 429:  # no Retry-After: urllib3 inside firebase-admin would retry it itself
                return _error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", "QUOTA_EXCEEDED")
            return _error(status, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE")
        return web.json_response({"name": f"projects/{PROJECT}/messages/{len(self.sends) + 1}"})


def _error(status: int, grpc_status: str, text: str, fcm_code: str | None = None) -> web.Response:
    details = [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcm_code}] if fcm_code else []
    body = {"error": {"code": status, "message": text, "status": grpc_status, "details": details}}
    return web.json_response(body, status=status)


def service_account_key(path: Path, token_uri: str) -> Path:
    """A service-account key file like the Firebase console's, with a locally generated RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path.write_text(json.dumps({
        "type": "service_account", "project_id": PROJECT, "private_key_id": "stand-in-key",
        "private_key": pem, "client_email": f"firebase-adminsdk@{PROJECT}.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": token_uri,
    }))
    return path
