"""The Dockerfile: an unprivileged user, and exact versions from the lock file (no Docker engine
runs here, so the file and the lock are read)."""

from __future__ import annotations

import importlib.metadata as metadata
import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from runtime_lock import applies, pinned, runtime_requirements

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = (REPO / "Dockerfile").read_text()
INSTRUCTIONS = re.findall(r"^(\w+)\s+(.*(?:\\\n.*)*)", DOCKERFILE, re.M)


def test_the_image_runs_as_an_unprivileged_user():
    users = [argument.strip() for instruction, argument in INSTRUCTIONS if instruction == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0"), "the last USER must not be root"
    last_user = max(i for i, (instruction, _) in enumerate(INSTRUCTIONS) if instruction == "USER")
    assert all(instruction not in ("RUN",) for instruction, _ in INSTRUCTIONS[last_user:]), "nothing runs as root after it"


def test_the_image_installs_only_what_the_lock_file_pins():
    installs = [argument for instruction, argument in INSTRUCTIONS
                if instruction == "RUN" and "pip install" in argument]
    assert installs, "the image installs nothing?"
    for argument in installs:
        assert "--no-deps" in argument, f"{argument!r} lets pip resolve versions at build time"
    assert any("-r requirements.lock" in argument for argument in installs)
    assert ("COPY", "requirements.lock ./") in INSTRUCTIONS


def test_the_lock_pins_every_runtime_dependency_within_pyproject_s_range():
    pins = pinned()
    for requirement in runtime_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"requirements.lock lacks {requirement.name}"
        assert requirement.specifier.contains(pins[name], prereleases=True), \
            f"requirements.lock pins {name}=={pins[name]}, outside pyproject's {requirement}"


def test_the_lock_is_closed_over_what_its_pins_require():
    """Each pinned distribution installed here at its pinned version: its own requirements are pinned too."""
    pins = pinned()
    for name, version in pins.items():
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if distribution.version != version:
            continue
        for text in distribution.requires or []:
            requirement = Requirement(text)
            if not applies(requirement, set()):
                continue
            wanted = canonicalize_name(requirement.name)
            assert wanted in pins, f"{name}=={version} needs {requirement}, which requirements.lock does not pin"
            assert requirement.specifier.contains(pins[wanted], prereleases=True), \
                f"{name} needs {requirement}; the lock pins {wanted}=={pins[wanted]}"
