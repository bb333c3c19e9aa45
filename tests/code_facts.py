"""Facts read off Siaga's own source, for tests that keep docs and deployment files true."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def variables_the_code_reads() -> set[str]:
    """Environment variable names read anywhere in Siaga's packages."""
    names: set[str] = set()
    pattern = re.compile(r"""(?:env\.\w+\(|\w+\(env,|environ(?:\.get)?[\[(]|getenv\()\s*["']([A-Z][A-Z0-9_]+)["']""")
    fallbacks = re.compile(r"""env\.str\([^)]*\)""")
    for package in ("fogverse", "apps", "workers", "workflows", "activities"):
        for path in (REPO / package).rglob("*.py"):
            text = path.read_text()
            names.update(pattern.findall(text))
            for call in fallbacks.findall(text):  # env.str("A", default, "FALLBACK")
                names.update(re.findall(r'"([A-Z][A-Z0-9_]+)"', call))
    return names
