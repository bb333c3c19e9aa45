"""Facts read off Siaga's own source, for tests that keep docs and deployment files true."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def variables_the_code_reads() -> set[str]:
    """Environment variable names Siaga reads: every settings model's, and those read directly
    (``os.environ.get("JAVA_HOME")``) anywhere in its packages."""
    from workers.settings_table import every_variable

    names: set[str] = set(every_variable())
    pattern = re.compile(r"""(?:environ(?:\.get)?[\[(]|getenv\()\s*["']([A-Z][A-Z0-9_]+)["']""")
    for package in ("fogverse", "apps", "workers", "workflows", "activities"):
        for path in (REPO / package).rglob("*.py"):
            names.update(pattern.findall(path.read_text()))
    return names
