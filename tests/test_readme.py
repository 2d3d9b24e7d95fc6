"""README.rst is the package index page, where no directive can include a file: its
Python code must be copied from the examples, which the examples command runs, and
it must keep the two commands that CI runs (.ci/run) and a newcomer starts with."""

from __future__ import annotations

import os
import re
import textwrap
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.rst")
EXAMPLES = os.path.join(ROOT, "examples")


def python_blocks(text: str) -> list[str]:
    """The bodies of the ``.. code-block:: python`` directives, dedented."""
    blocks = re.findall(r"^\.\. code-block:: python\n\n((?:(?:   .*)?\n)+)", text, flags=re.MULTILINE)
    return [textwrap.dedent(block).strip("\n") for block in blocks]


def example_sources() -> dict[str, list[str]]:
    sources = {}
    for folder, _, files in os.walk(EXAMPLES):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as file:
                    sources[os.path.relpath(path, ROOT)] = file.read().splitlines()
    return sources


def excerpt_of(block: str, lines: list[str]) -> bool:
    """Whether `block` is a run of consecutive `lines`, indentation aside."""
    wanted = block.splitlines()
    for start in range(len(lines) - len(wanted) + 1):
        window = textwrap.dedent("\n".join(lines[start : start + len(wanted)]))
        if window == block:
            return True
    return False


class ReadmeTest(unittest.TestCase):
    def setUp(self) -> None:
        with open(README, encoding="utf-8") as file:
            self.text = file.read()

    def test_every_python_block_is_copied_from_an_example(self) -> None:
        blocks = python_blocks(self.text)
        self.assertGreaterEqual(len(blocks), 3)  # unittest, asyncio, no_leaks
        sources = example_sources()
        for block in blocks:
            with self.subTest(block.splitlines()[0]):
                found = [path for path, lines in sources.items() if excerpt_of(block, lines)]
                self.assertTrue(found, f"README.rst's block is in no file under examples/:\n{block}")

    def test_an_edited_block_is_caught(self) -> None:
        block = python_blocks(self.text)[0]
        sources = example_sources()
        changed = block.replace("addCleanup", "addClassCleanup", 1)
        self.assertNotEqual(changed, block)
        self.assertFalse(any(excerpt_of(changed, lines) for lines in sources.values()))

    def test_the_two_commands_that_need_nothing_installed(self) -> None:
        self.assertIn("python -m unittest discover -s examples -v", self.text)
        self.assertIn("python -m unittest discover -s tests", self.text)

    def test_a_page_read_in_five_minutes(self) -> None:
        self.assertLess(len(self.text.splitlines()), 250)


if __name__ == "__main__":
    unittest.main()
