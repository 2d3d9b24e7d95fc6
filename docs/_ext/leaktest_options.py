"""The settings reference, generated from leaktest's own option definitions, so it cannot drift.

Every option is one `leaktest.options.Option` object (settings.py lists the
general ones, each probe declares its own); `leaktest.settings.all_options()`
lists them all. From those objects this extension writes:

- ``.. leaktest-options::``: the table of every option, its value, default,
  ``python -m leaktest`` flag, pytest ini option and flag, and its help text
  (the same text ``--help`` prints);
- ``.. leaktest-option:: NAME``: one option's generated facts, followed by the
  page's own explanation (the directive's content).

And it checks the pages against the objects (a warning each, an error under
``sphinx-build -W``): an option without a ``leaktest-option`` entry, an entry
for no option, any literal in any page naming a setting, a runner flag or a
pytest option that does not exist (``check_thread``, ``--ignore-threads``), and
any pytest name the table derives that the plugin's ``pytest_addoption`` does
not register, or the reverse.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)


def all_options() -> list[Any]:
    """Every option, as the runner, the plugin and the base classes see them."""
    from leaktest.settings import all_options

    return all_options()


def value_text(option: Any) -> str:
    """What the option takes, said from its type (an unknown type is an error, not a guess)."""
    from leaktest import options

    if isinstance(option, options.Flag):
        return "``True`` or ``False``"
    if isinstance(option, options.Seconds):
        return "seconds: a finite number >= 0"
    if isinstance(option, options.Patterns):
        return "a list of ``fnmatch`` patterns (adds up)"
    if isinstance(option, options.Functions):
        return 'a list of ``"pkg.mod.Class.method"`` strings or functions (adds up)'
    if isinstance(option, options.Choice):
        return "one of " + ", ".join(f'``"{choice}"``' for choice in option.choices)
    raise TypeError(f"docs/_ext/leaktest_options.py: no wording for {type(option).__name__} ({option.name})")


def default_text(option: Any) -> str:
    from leaktest import options

    if isinstance(option, options.Choice):
        return f'``"{option.default}"``'
    return f"``{option.default!r}``"


def runner_flags(option: Any) -> list[str]:
    """``python -m leaktest``'s spellings, with the value each takes."""
    arguments = option.flag_arguments()
    value = ""
    if "choices" in arguments:
        value = " " + "|".join(arguments["choices"])
    elif option.takes_value:
        value = " " + (arguments.get("metavar") or option.metavar)
    return [flag + value for flag in option.flags()]


def pytest_flags(option: Any) -> list[str]:
    """The plugin's spellings: the runner's flag prefixed with ``leaktest-``."""
    return [re.sub(r"^--(no-)?", r"--\1leaktest-", flag) for flag in runner_flags(option)]


def pytest_ini(option: Any) -> str:
    return "leaktest_" + option.name


def parse_rst(directive: SphinxDirective, text: str) -> list[nodes.Node]:
    """`text` (reST) as nodes, inline markup parsed."""
    return directive.parse_text_to_nodes(text)


def literals(names: list[str]) -> str:
    return ", ".join(f"``{name}``" for name in names)


class OptionsTable(SphinxDirective):
    """``.. leaktest-options::``: every option in one table."""

    def run(self) -> list[nodes.Node]:
        rows = []
        for option in all_options():
            rows.append(
                [
                    f":ref:`{option.name} <leaktest-option-{option.name}>`",
                    value_text(option),
                    default_text(option),
                    literals(runner_flags(option)),
                    f"``{pytest_ini(option)}``, " + literals(pytest_flags(option)),
                    escape(option.help),
                ]
            )
        head = ["setting", "value", "default", "``python -m leaktest``", "pytest: ini, flag", "what (as ``--help`` says)"]
        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 18 18 8 20 22 30", ""]
        for row in [head, *rows]:
            lines.append(f"   * - {row[0]}")
            lines.extend(f"     - {cell}" for cell in row[1:])
        return parse_rst(self, "\n".join(lines))


class OptionEntry(SphinxDirective):
    """``.. leaktest-option:: NAME``: one option's generated facts, then the page's explanation."""

    required_arguments = 1
    has_content = True

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        known = {option.name: option for option in all_options()}
        option = known.get(name)
        if option is None:
            logger.warning("leaktest-option %s: no such option (known: %s)", name, ", ".join(known), location=self.get_location())
            return []
        self.env.domaindata.setdefault("leaktest_options", {})[name] = self.env.docname
        label = f"leaktest-option-{name}"
        facts = (
            f"{value_text(option)}; default {default_text(option)}; "
            f"``python -m leaktest`` {literals(runner_flags(option))}; "
            f"pytest ``{pytest_ini(option)}`` (ini), {literals(pytest_flags(option))}."
        )
        term = nodes.term("", "", nodes.literal(name, name))
        definition = nodes.definition()
        definition += parse_rst(self, facts)
        self.state.nested_parse(self.content, self.content_offset, definition)
        item = nodes.definition_list_item("", term, definition)
        target = nodes.target("", "", ids=[label])
        self.env.get_domain("std").note_hyperlink_target(label, self.env.docname, label, name)
        return [target, nodes.definition_list("", item)]


def escape(text: str) -> str:
    """Help text as reST: backslash-escape what reST would take as markup."""
    return re.sub(r"([\\`*_|])", r"\\\1", text)


def purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    documented = env.domaindata.get("leaktest_options", {})
    for name in [name for name, where in documented.items() if where == docname]:
        del documented[name]


def check_every_option_documented(app: Sphinx, env: BuildEnvironment) -> None:
    documented = env.domaindata.get("leaktest_options", {})
    for option in all_options():
        if option.name not in documented:
            logger.warning("option %s has no '.. leaktest-option:: %s' entry in the docs", option.name, option.name)


class PluginOptions:
    """Stands for pytest's parser: what the plugin's `pytest_addoption` registers."""

    def __init__(self) -> None:
        self.flags: set[str] = set()
        self.ini: set[str] = set()

    def getgroup(self, name: str, description: str = "") -> PluginOptions:
        return self

    def addoption(self, *names: str, **attributes: Any) -> None:
        self.flags.update(names)
        if attributes.get("action") is argparse.BooleanOptionalAction:
            self.flags.update("--no-" + name[2:] for name in names)

    def addini(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.ini.add(name)


def check_pytest_names(app: Sphinx, env: BuildEnvironment) -> None:
    """The pytest names this page derives are exactly those the plugin registers."""
    import leaktest.pytest_plugin

    registered = PluginOptions()
    leaktest.pytest_plugin.pytest_addoption(registered)  # type: ignore[arg-type]
    options = all_options()
    derived = {flag.split()[0] for option in options for flag in pytest_flags(option)} | {"--leaktest"}
    ini = {pytest_ini(option) for option in options} | {"leaktest"}
    for name in sorted(derived ^ registered.flags) + sorted(ini ^ registered.ini):
        where = "registered by the plugin, not" if name in registered.flags | registered.ini else "not registered, but"
        logger.warning("pytest option %s: %s named in the settings table", name, where)


#: Literals that name a setting, a runner flag or a pytest option: each must exist
#: (a wildcard, ``--check-*`` or ``check_*``, names a family and is left alone).
SETTING = re.compile(r"(?<![\w./-])((?:check|ignore)_[a-z_]*[a-z]|grace_period|cleanup_leaks|leak_mode)(?![\w*])")
PYTEST_INI = re.compile(r"(?<![\w./-])leaktest_([a-z_]*[a-z])\b")
FLAG = re.compile(r"(?<![\w-])(--(?:no-)?(?:leaktest-)?(?:(?:check|ignore|grace|cleanup)-[a-z-]*[a-z]|mode))(?![\w*-])")


def check_names(app: Sphinx, doctree: nodes.document) -> None:
    """Warn at every literal naming a setting, flag or ini option that does not exist."""
    options = all_options()
    settings = {option.name for option in options}
    ini = {pytest_ini(option) for option in options} | {"leaktest"}
    flags = {flag.split()[0] for option in options for flag in runner_flags(option) + pytest_flags(option)}
    for node in doctree.findall(lambda n: isinstance(n, (nodes.literal, nodes.literal_block))):
        text = node.astext()
        wrong = [name for name in SETTING.findall(text) if name not in settings]
        wrong += ["leaktest_" + name for name in PYTEST_INI.findall(text) if "leaktest_" + name not in ini]
        wrong += [flag for flag in FLAG.findall(text) if flag not in flags]
        for name in dict.fromkeys(wrong):
            logger.warning("%r names no leaktest option", name, location=node)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("leaktest-options", OptionsTable)
    app.add_directive("leaktest-option", OptionEntry)
    app.connect("env-purge-doc", purge)
    app.connect("env-check-consistency", check_every_option_documented)
    app.connect("env-check-consistency", check_pytest_names)
    app.connect("doctree-read", check_names)
    return {"version": "1", "parallel_read_safe": False, "env_version": 1}
