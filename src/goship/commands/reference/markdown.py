"""docs/reference.md and the text of ``goship help exit-codes|environment|json``,
rendered from the parser's description (``spec.CLI``) and the tables beside it."""

from __future__ import annotations

from goship.commands.reference.environment import ENVIRONMENT, FROM_CONFIG
from goship.commands.reference.spec import CLI, Command, Option
from goship.errors import EXIT_CODE_MEANINGS

#: What ``--json`` means, per kind of command (the reference and ``goship help json``).
JSON_RULES = (
    "`--json` means the same on every command:",
    "",
    "- **document**: the command prints exactly one JSON document on stdout (an object), "
    "and nothing else there.",
    "- **lines**: the command streams: one JSON object per line on stdout, as it happens. "
    "build, push, deploy, ship, rollback and remove stream their progress events "
    '(`{"stage", "level", "message", "host", "data", "time"}`; `level` is step, info, ok, warn or error, '
    "and the outcome is in the last `ok` events' `data`); logs and exec stream "
    '`{"host", "line"}`.',
    "- On failure, with `--json`, the error is a JSON object on stdout too "
    '(the document, or the last line of a stream): `{"error", "hint", "exit_code", "details"}`, '
    'plus `"file"`, `"line"`, `"column"` and `"key"` for an error in goship.yaml. '
    "The same error is printed for people on stderr, and the exit status is the one in the table below.",
    "- Messages for people (progress without `--json`, warnings, hints) go to stderr.",
)

EXIT_STATUS_NOTE = (
    "goship exec exits with the status of the command it ran. goship lint keeps its own contract: "
    "0 clean, 1 the worst finding is a warning, 3 an error, 2 nothing could be linted."
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _flags(option: Option) -> str:
    flags = ", ".join(f"`{flag}`" for flag in option.flags)
    return f"{flags} `{option.metavar}`" if option.takes_value else flags


def _option_help(option: Option) -> str:
    text = option.help
    if option.choices and not any(choice in text for choice in option.choices):
        text += f" (one of: {', '.join(option.choices)})"
    return _cell(text)


def _command(command: Command) -> list[str]:
    lines = [f"### goship {command.name}", "", _cell(command.summary), "", "```", f"{command.usage}", "```", ""]
    if command.positionals:
        lines += ["| argument | meaning |", "|---|---|"]
        for positional in command.positionals:
            choices = f" (one of: {', '.join(positional.choices)})" if positional.choices else ""
            optional = " (optional)" if positional.optional else ""
            lines.append(f"| `{positional.name}`{optional} | {_cell(positional.help)}{choices} |")
        lines.append("")
    own = [option for option in command.options if option.flags[0] not in ("-C", "-c", "--json")]
    if own:
        lines += ["| option | meaning |", "|---|---|"]
        lines += [f"| {_flags(option)} | {_option_help(option)} |" for option in own]
        lines.append("")
    if command.json_output:
        lines += [f"`--json`: {_json_form(command.json_output)}.", ""]
    if command.epilog:
        lines += [_cell(command.epilog), ""]
    return lines


def _json_form(form: str) -> str:
    return {"document": "one JSON document", "lines": "JSON lines (a stream)"}.get(form, form)


def exit_code_rows() -> list[tuple[int, str]]:
    return [(int(code), meaning) for code, meaning in EXIT_CODE_MEANINGS.items()]


def render_reference(cli: CLI) -> str:
    """The whole of docs/reference.md."""
    lines = [
        "# goship command reference",
        "",
        "<!-- Generated from goship's parser: goship help reference > docs/reference.md "
        "(tests/unit/test_cli_conventions.py fails when this file is stale). -->",
        "",
        _cell(cli.description),
        "",
        "```",
        f"{cli.usage}",
        "```",
        "",
        "`goship` alone prints the list of commands; `goship help COMMAND` (or `goship COMMAND --help`) a "
        "command's options; `goship completion bash|zsh|fish|powershell` a shell completion script.",
        "",
        "## Global options",
        "",
        "They go before the command (`goship -C services/api status`, as `git -C` and `go -C`) or after it "
        "(`goship status -C services/api`); after the command wins when both are given.",
        "",
        "| option | meaning |",
        "|---|---|",
        *[f"| {_flags(option)} | {_option_help(option)} |" for option in cli.options],
        "",
        "## Commands",
        "",
        "| command | what it does | `--json` |",
        "|---|---|---|",
        *[
            f"| [`{c.name}`](#goship-{c.name}) | {_cell(c.summary)} | {c.json_output or '-'} |"
            for c in cli.commands
        ],
        "",
    ]
    for command in cli.commands:
        lines += _command(command)
    lines += ["## JSON output", "", *JSON_RULES, ""]
    lines += ["## Exit codes", "", "| status | meaning |", "|---|---|"]
    lines += [f"| {code} | {_cell(meaning)} |" for code, meaning in exit_code_rows()]
    lines += ["", EXIT_STATUS_NOTE, ""]
    lines += ["## Environment variables", "", "| variable | what it does |", "|---|---|"]
    lines += [f"| `{name}` | {_cell(what)} |" for name, what in ENVIRONMENT]
    lines += ["", FROM_CONFIG, ""]
    return "\n".join(lines)


def _text_table(rows: list[tuple[str, str]]) -> str:
    width = max(len(left) for left, _ in rows)
    return "".join(f"  {left:<{width}}  {right}\n" for left, right in rows)


def exit_codes_text() -> str:
    """``goship help exit-codes``."""
    rows = [(str(code), meaning) for code, meaning in exit_code_rows()]
    return "goship exit statuses:\n\n" + _text_table(rows) + "\n" + EXIT_STATUS_NOTE + "\n"


def environment_text() -> str:
    """``goship help environment``."""
    plain = FROM_CONFIG.replace("`", "")
    return "Environment variables goship reads:\n\n" + _text_table(list(ENVIRONMENT)) + "\n" + plain + "\n"


def json_text(cli: CLI) -> str:
    """``goship help json``: the rules, and each command's form."""
    rules = "\n".join(JSON_RULES).replace("`", "").replace("**", "")
    rows = [(c.name, _json_form(c.json_output)) for c in cli.commands if c.json_output]
    return rules + "\n\nPer command:\n\n" + _text_table(rows)
