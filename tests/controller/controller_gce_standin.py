"""A local HTTP stand-in of the Compute Engine REST API (v1), enough for instances and zone operations.

It answers like the real API where the provider depends on it: insert and delete return a RUNNING
zone operation whose effect lands when ``operations/{op}/wait`` (or ``get``) is called; a duplicate
insert answers 409 ``alreadyExists``; a missing instance answers 404; ``list`` honours
``labels.KEY = "VALUE"`` filters joined by AND. Every request is recorded for the tests to inspect.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from aiohttp import web

BASE = "/compute/v1/projects/{project}/zones/{zone}"


def _error(status: int, reason: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": status, "message": message,
                                        "errors": [{"reason": reason, "message": message, "domain": "global"}]}},
                             status=status)


@dataclass
class ComputeStandIn:
    instances: dict[str, dict] = field(default_factory=dict)
    operations: dict[str, dict] = field(default_factory=dict)
    requests: list[tuple[str, str, dict | None]] = field(default_factory=list)
    _effects: dict[str, callable] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None
    endpoint: str = ""

    async def start(self) -> "ComputeStandIn":
        app = web.Application()
        app.router.add_post(BASE + "/instances", self._insert)
        app.router.add_get(BASE + "/instances", self._list)
        app.router.add_get(BASE + "/instances/{name}", self._get)
        app.router.add_delete(BASE + "/instances/{name}", self._delete)
        app.router.add_post(BASE + "/operations/{op}/wait", self._wait)
        app.router.add_get(BASE + "/operations/{op}", self._wait)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        await self._runner.cleanup()

    def _operation(self, request: web.Request, kind: str, target: str, effect) -> web.Response:
        name = f"operation-{next(self._ids)}"
        self.operations[name] = {"kind": "compute#operation", "name": name, "operationType": kind,
                                 "status": "RUNNING", "targetLink": target,
                                 "zone": request.match_info["zone"], "progress": 0}
        self._effects[name] = effect
        return web.json_response(self.operations[name])

    async def _insert(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(("insert", request.path, body))
        name = body.get("name", "")
        if not re.fullmatch(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", name):
            return _error(400, "invalid", f"Invalid value for field 'resource.name': '{name}'")
        if name in self.instances:
            return _error(409, "alreadyExists", f"The resource '{request.path}/{name}' already exists")
        self.instances[name] = {**body, "status": "PROVISIONING"}

        def started() -> None:
            self.instances[name]["status"] = "RUNNING"

        return self._operation(request, "insert", f"{request.path}/{name}", started)

    async def _get(self, request: web.Request) -> web.Response:
        self.requests.append(("get", request.path, None))
        instance = self.instances.get(request.match_info["name"])
        if instance is None:
            return _error(404, "notFound", f"The resource '{request.path}' was not found")
        return web.json_response(instance)

    async def _delete(self, request: web.Request) -> web.Response:
        self.requests.append(("delete", request.path, None))
        name = request.match_info["name"]
        if name not in self.instances:
            return _error(404, "notFound", f"The resource '{request.path}' was not found")
        self.instances[name]["status"] = "STOPPING"
        return self._operation(request, "delete", request.path, lambda: self.instances.pop(name, None))

    async def _list(self, request: web.Request) -> web.Response:
        wanted = dict(re.findall(r'labels\.([\w-]+)\s*=\s*"([^"]*)"', request.query.get("filter", "")))
        self.requests.append(("list", request.path, dict(wanted)))
        items = [i for i in self.instances.values()
                 if all(i.get("labels", {}).get(k) == v for k, v in wanted.items())]
        return web.json_response({"kind": "compute#instanceList", "items": items})

    async def _wait(self, request: web.Request) -> web.Response:
        name = request.match_info["op"]
        operation = self.operations.get(name)
        if operation is None:
            return _error(404, "notFound", f"operation {name} not found")
        if operation["status"] != "DONE":
            self._effects.pop(name)()
            operation.update(status="DONE", progress=100)
        return web.json_response(operation)
