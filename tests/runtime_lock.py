"""The image's lock file: the exact versions of what pyproject.toml needs at run time.

``.venv/bin/python tests/runtime_lock.py > requirements.lock`` writes it anew from this environment
(pip-compile is not installed here): pyproject's ``[project] dependencies``, closed over each
installed distribution's own requirements whose markers hold on Linux with this Python.
"""

from __future__ import annotations

import importlib.metadata as metadata
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
HEADER = """\
# The exact versions the image installs: what pyproject.toml's [project] dependencies need at run
# time, closed over their own requirements, as resolved in this repository's environment (Python 3.11,
# Linux). Regenerate after changing a dependency: .venv/bin/python tests/runtime_lock.py > requirements.lock
"""


def runtime_requirements() -> list[Requirement]:
    with open(REPO / "pyproject.toml", "rb") as file:
        return [Requirement(d) for d in tomllib.load(file)["project"]["dependencies"]]


def applies(requirement: Requirement, extras: set[str]) -> bool:
    return requirement.marker is None or any(requirement.marker.evaluate({"extra": e}) for e in (extras or {""}))


def installed_closure() -> dict[str, str]:
    """name ▸ installed version, for every distribution the runtime dependencies pull in."""
    extras_of: dict[str, set[str]] = {}
    versions: dict[str, str] = {}
    todo = [(r, set()) for r in runtime_requirements()]
    while todo:
        requirement, parent_extras = todo.pop()
        if not applies(requirement, parent_extras):
            continue
        name = canonicalize_name(requirement.name)
        if name in versions and set(requirement.extras) <= extras_of[name]:
            continue
        extras_of[name] = extras_of.get(name, set()) | set(requirement.extras)
        distribution = metadata.distribution(requirement.name)
        versions[name] = distribution.version
        todo += [(Requirement(r), extras_of[name]) for r in distribution.requires or []]
    return dict(sorted(versions.items()))


def pinned(path: Path = REPO / "requirements.lock") -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version
    return pins


if __name__ == "__main__":
    print(HEADER + "".join(f"{name}=={version}\n" for name, version in installed_closure().items()), end="")
