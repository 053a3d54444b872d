"""Every command block of the README is marked: run (in a context the README test
knows) or skipped with a reason. An unmarked block would be skipped silently."""

from __future__ import annotations

from tests import readme


def test_every_command_block_is_marked_run_or_skip():
    blocks = readme.command_blocks()
    assert len(blocks) >= 8
    unmarked = [f"{b.where}: {b.text.splitlines()[0]}" for b in blocks if not b.mark]
    assert unmarked == [], "mark each with <!-- readme-test: run CONTEXT --> or <!-- readme-test: skip: REASON -->"
    for block in blocks:
        assert block.context in (*readme.CONTEXTS, None), block.where
        assert block.context or (block.reason and len(block.reason) > 10), block.where


def test_the_parser_reads_marks_and_fences():
    text = (
        "intro\n\n<!-- readme-test: run demo -->\n```sh\ngoship ship\n```\n\n"
        "<!-- readme-test: skip: needs Windows -->\n```sh\ngoship.exe ship\n```\n\n```yaml\na: 1\n```\n"
        "```sh\nunmarked\n```\n"
    )
    found = readme.command_blocks(text)
    assert [(b.line, b.context, b.reason, b.text) for b in found] == [
        (4, "demo", None, "goship ship\n"),
        (9, None, "needs Windows", "goship.exe ship\n"),
        (16, None, None, "unmarked\n"),
    ]
    assert found[2].mark == ""
