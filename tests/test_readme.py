"""The README's promises that can be checked by reading the repository."""

from __future__ import annotations

import re
from pathlib import Path

from code_facts import variables_the_code_reads

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def test_quick_start_is_exactly_two_commands_and_ci_runs_the_second():
    quick_start = README.split("## Quick start", 1)[1].split("##", 1)[0]
    block = re.search(r"```sh\n(.*?)```", quick_start, re.S).group(1)
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make up", "make test"]
    ci = (REPO / ".ci" / "run").read_text()
    assert re.search(r"^exec make test$", ci, re.M), "CI must run the README's second command, nothing less"


def test_every_setting_the_code_reads_is_in_the_readme_settings_table():
    table = README.split("## Settings", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)`", table, re.M))
    missing = variables_the_code_reads() - documented
    assert not missing, f"README's settings table lacks {sorted(missing)}"
    stale = documented - variables_the_code_reads()
    assert not stale, f"README documents variables nothing reads: {sorted(stale)}"


def test_the_settings_tables_are_the_ones_the_settings_models_generate():
    from workers.settings_table import BEGIN as begin, END as end, markdown

    assert begin in README and end in README, "the README marks where its generated settings tables are"
    written = README.split(begin, 1)[1].split(end, 1)[0]
    assert written == markdown(), ("README's settings tables differ from the settings models: regenerate them "
                                   "with `python -m workers.settings_table --write README.md`")
