"""Facts read off Siaga's own source, for tests that keep docs and deployment files true."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def variables_the_code_reads() -> set[str]:
    """Environment variable names read anywhere in Siaga's packages."""
    names: set[str] = set()
    pattern = re.compile(r"""(?:env\.\w+\(|\w+\(env,|environ(?:\.get)?[\[(]|getenv\()\s*["']([A-Z][A-Z0-9_]+)["']""")
    # env.str("A", default, "FALLBACK", ...): names after the default are read too
    fallbacks = re.compile(r"""env\.str\(\s*"[A-Z0-9_]+"\s*,\s*[^,()]+,((?:\s*"[A-Z0-9_]+"\s*,?)+)\)""")
    for package in ("fogverse", "apps", "workers", "workflows", "activities"):
        for path in (REPO / package).rglob("*.py"):
            text = path.read_text()
            names.update(pattern.findall(text))
            for names_after_default in fallbacks.findall(text):
                names.update(re.findall(r'"([A-Z][A-Z0-9_]+)"', names_after_default))
    return names
