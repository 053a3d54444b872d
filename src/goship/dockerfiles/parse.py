"""A small Dockerfile parser that keeps line numbers, for lint, init and the docker builder.

It reads what the rules need, the way BuildKit's parser reads it: parser
directives (``# escape=`` changes the continuation character), continuation
lines with comments between them, heredocs (``RUN <<EOF``), flags such as
``RUN --mount=...`` and ``COPY --from=...``, exec (JSON) versus shell form,
``ARG`` substitution in ``FROM`` and stages named with ``AS``.

It is pure: ``parse_dockerfile(text)`` takes the decoded text, so CRLF files
and files that are not UTF-8 (UTF-16 from Windows PowerShell) are handled
by ``decode_dockerfile`` once.
Text Docker itself would reject (an unknown instruction, no FROM, a COPY
without a destination, an unterminated heredoc or JSON array) raises
``DockerfileError`` naming the file and line: linting a file that does not
build would only produce noise.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field

from goship.errors import DockerfileError

INSTRUCTIONS = frozenset(
    {
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
        "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    }
)
#: Instructions whose argument may be a JSON array (exec form).
_EXEC_FORM = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"})
#: Where a '[' can only mean "this is meant to be JSON" (RUN may start with the '[' test command).
_JSON_REQUIRED = frozenset({"CMD", "ENTRYPOINT", "SHELL"})
_HEREDOC_CAPABLE = frozenset({"RUN", "COPY", "ADD"})
_DIRECTIVE = re.compile(r"^#\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(.*?)\s*$")
_KNOWN_DIRECTIVES = frozenset({"syntax", "escape", "check"})
_IGNORE = re.compile(r"^#\s*goship-ignore(-file)?\b\s*:?\s*(.*)$", re.IGNORECASE)
_RULE_ID = re.compile(r"^[A-Za-z]+[0-9]+$")
_FLAG = re.compile(r"^--([A-Za-z][A-Za-z0-9-]*)(?:=(\S*))?(?:\s+|$)")
_HEREDOC = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_VARIABLE = re.compile(r"\$\{(\w+)(?::?([-+])([^}]*))?\}|\$(\w+)")


@dataclass(frozen=True)
class Instruction:
    """One instruction with its continuation lines and heredocs joined."""

    keyword: str
    #: The argument text after the keyword and its leading --flags.
    args: str
    line: int
    end_line: int
    flags: tuple[tuple[str, str], ...] = ()
    #: The argument as a list when written in exec (JSON) form.
    exec_form: tuple[str, ...] | None = None
    heredocs: tuple[str, ...] = ()
    #: Rule IDs silenced by a ``# goship-ignore ID`` comment right above.
    ignores: frozenset[str] = frozenset()
    #: The instruction as written, keyword and flags included, its continuation
    #: lines joined as BuildKit joins them (heredoc bodies are in ``heredocs``).
    text: str = ""

    def flag(self, name: str) -> str | None:
        """The value of ``--name=value`` (``""`` for a bare ``--name``), or None."""
        for key, value in self.flags:
            if key == name:
                return value
        return None

    @property
    def is_shell_form(self) -> bool:
        return self.exec_form is None

    def words(self) -> list[str]:
        """The arguments as words (exec form as written, shell form split like sh)."""
        if self.exec_form is not None:
            return list(self.exec_form)
        try:
            return shlex.split(self.args, posix=True)
        except ValueError:  # an unbalanced quote: Docker would pass it through as is
            return self.args.split()

    def command_text(self) -> str:
        """What a RUN executes, heredoc bodies included, as one string to search."""
        text = " ".join(self.exec_form) if self.exec_form is not None else self.args
        return "\n".join([text, *self.heredocs])


@dataclass(frozen=True)
class Stage:
    """A build stage: its FROM and the instructions up to the next FROM."""

    index: int
    #: The base image with ARG values substituted ("" when FROM had none).
    image: str
    #: The base as written, before substitution.
    image_raw: str
    name: str | None
    from_instruction: Instruction
    instructions: tuple[Instruction, ...]
    #: Index of an earlier stage this one is built FROM, if any.
    parent: int | None = None

    @property
    def line(self) -> int:
        return self.from_instruction.line

    @property
    def unresolved(self) -> bool:
        """The image still holds a variable no ARG default resolves."""
        return "$" in self.image

    def label(self) -> str:
        return self.name or f"#{self.index}"


@dataclass(frozen=True)
class Dockerfile:
    """A parsed Dockerfile; ``path`` is what messages call it."""

    path: str
    instructions: tuple[Instruction, ...]
    stages: tuple[Stage, ...]
    directives: dict[str, str] = field(default_factory=dict)
    #: Global ARGs (before the first FROM) and their defaults.
    global_args: dict[str, str | None] = field(default_factory=dict)
    #: Rule IDs silenced for the whole file by ``# goship-ignore-file ID``.
    file_ignores: frozenset[str] = frozenset()

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def stage(self, ref: str) -> Stage | None:
        """The stage a ``--from=`` or ``FROM`` names: by name, or by number."""
        lowered = ref.lower()
        for stage in self.stages:
            if stage.name is not None and stage.name.lower() == lowered:
                return stage
        if ref.isdigit() and int(ref) < len(self.stages):
            return self.stages[int(ref)]
        return None

    def root(self, stage: Stage) -> Stage:
        """The first stage of ``stage``'s FROM chain: the one built FROM an image, not a stage."""
        seen: set[int] = set()
        current = stage
        while current.parent is not None and current.index not in seen:
            seen.add(current.index)
            current = self.stages[current.parent]
        return current

    def ancestors(self, stage: Stage) -> list[Stage]:
        """``stage`` and the stages it is built FROM, nearest first."""
        result: list[Stage] = []
        current: Stage | None = stage
        while current is not None and all(current.index != seen.index for seen in result):
            result.append(current)
            current = self.stages[current.parent] if current.parent is not None else None
        return result

    def stage_at(self, line: int) -> Stage:
        """The stage an instruction at ``line`` belongs to."""
        found = self.stages[0]
        for stage in self.stages:
            if stage.line <= line:
                found = stage
        return found

    def chain(self, stage: Stage) -> list[Instruction]:
        """The instructions in effect in ``stage``: those of the stages it is built FROM first."""
        result: list[Instruction] = []
        seen: set[int] = set()
        current: Stage | None = stage
        parts: list[tuple[Instruction, ...]] = []
        while current is not None and current.index not in seen:
            seen.add(current.index)
            parts.append(current.instructions)
            current = self.stages[current.parent] if current.parent is not None else None
        for part in reversed(parts):
            result.extend(part)
        return result


_BOMS: tuple[tuple[bytes, str], ...] = (
    # UTF-32 first: its little-endian BOM starts with UTF-16's.
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def sniff_encoding(data: bytes) -> str:
    """The text encoding of a Dockerfile: 'utf-8', 'utf-16-le', 'utf-16-be', 'utf-32-le' or 'utf-32-be'.

    A byte-order mark decides; without one, ASCII text with every other byte
    NUL is UTF-16 (what Windows PowerShell 5's ``>`` writes, BOM or not).
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    head = data[:64]
    if len(head) >= 4 and len(head) % 2 == 0:
        if not any(head[1::2]) and all(head[0::2]):
            return "utf-16-le"
        if not any(head[0::2]) and all(head[1::2]):
            return "utf-16-be"
    return "utf-8"


def decode_dockerfile(data: bytes) -> str:
    """Bytes to text: UTF-8 or, by its BOM, UTF-16/32 (BOM dropped); undecodable bytes replaced rather than fatal."""
    return data.decode(sniff_encoding(data), errors="replace").removeprefix("\ufeff")


def _parse_ignores(comment: str) -> tuple[bool, set[str]] | None:
    match = _IGNORE.match(comment.strip())
    if not match:
        return None
    ids = {word.upper() for word in re.split(r"[\s,]+", match.group(2)) if _RULE_ID.match(word)}
    return bool(match.group(1)), ids


def _split_flags(rest: str) -> tuple[tuple[tuple[str, str], ...], str]:
    flags: list[tuple[str, str]] = []
    while True:
        match = _FLAG.match(rest)
        if not match:
            return tuple(flags), rest
        flags.append((match.group(1).lower(), match.group(2) or ""))
        rest = rest[match.end() :]


def substitute(text: str, values: dict[str, str | None]) -> str:
    """Expand ``$X``, ``${X}``, ``${X:-d}`` and ``${X:+v}`` as FROM does; unknown stays as written."""

    def expand(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(4)
        value = values.get(name)
        operator, word = match.group(2), match.group(3)
        if operator == "-":
            return value if value else word
        if operator == "+":
            return word if value else ""
        return value if value is not None else match.group(0)

    return _VARIABLE.sub(expand, text)


class _Lines:
    """The file's lines with a cursor; line numbers are 1-based."""

    def __init__(self, text: str) -> None:
        self.lines = text.replace("\r\n", "\n").split("\n")
        if self.lines and self.lines[-1] == "":
            self.lines.pop()
        self.index = 0

    def more(self) -> bool:
        return self.index < len(self.lines)

    def peek(self) -> str:
        return self.lines[self.index]

    def take(self) -> str:
        line = self.lines[self.index]
        self.index += 1
        return line

    @property
    def number(self) -> int:
        """The 1-based number of the line ``peek`` returns."""
        return self.index + 1


def _take_directives(source: _Lines) -> list[tuple[int, str, str]]:
    """(line, name, value) of each parser directive, read off the top of ``source``.

    Parser directives only count at the very top, before any blank line,
    comment or instruction: that is where BuildKit looks for them.
    """
    found: list[tuple[int, str, str]] = []
    while source.more():
        match = _DIRECTIVE.match(source.peek().strip())
        if not match or match.group(1).lower() not in _KNOWN_DIRECTIVES:
            break
        found.append((source.number, match.group(1).lower(), match.group(2)))
        source.take()
    return found


def parser_directives(text: str) -> list[tuple[int, str, str]]:
    """(line, name, value) of each parser directive (``# syntax=...``, ``# escape=...``).

    Read as ``parse_dockerfile`` reads them, but never refused: the docker
    builder names a ``# syntax=`` line even in a file written for another frontend.
    """
    return _take_directives(_Lines(text))


def _logical_lines(text: str, path: str) -> Iterator[tuple[int, int, str, set[str] | None, dict[str, str]]]:
    """Yield (first line, last line, joined text, ignores, directives) per instruction.

    The first item yielded carries the directives; ``ignores`` is None for a
    ``goship-ignore-file`` pseudo-entry (text holds the IDs, space-separated).
    """
    source = _Lines(text)
    directives = {name: value for _, name, value in _take_directives(source)}
    escape = directives.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise DockerfileError(f"{path}:1: escape directive must be '\\' or '`', not {escape!r}")

    pending: set[str] = set()
    first = True
    while source.more():
        start = source.number
        raw = source.take()
        stripped = raw.strip()
        if not stripped:
            pending = set()
            continue
        if stripped.startswith("#"):
            parsed = _parse_ignores(stripped)
            if parsed is not None:
                whole_file, ids = parsed
                if whole_file:
                    yield start, start, " ".join(sorted(ids)), None, directives
                else:
                    pending |= ids
            continue
        parts: list[str] = []
        current = raw
        end = start
        while True:
            trimmed = current.rstrip()
            if trimmed.endswith(escape) and not trimmed.endswith(escape * 2):
                parts.append(trimmed[: -len(escape)])
                # Comment and empty lines inside a continuation are dropped, as BuildKit does.
                while source.more() and (not source.peek().strip() or source.peek().lstrip().startswith("#")):
                    source.take()
                if not source.more():
                    break
                end = source.number
                current = source.take()
            else:
                parts.append(current)
                break
        yield start, end, "".join(parts).strip(), pending, directives if first else {}
        first = False
        pending = set()
    if first:
        yield 0, 0, "", set(), directives


def _heredocs(keyword: str, rest: str, source_lines: list[str], after: int, path: str, line: int) -> tuple[tuple[str, ...], int]:
    """Bodies of the heredocs ``rest`` opens, read from the lines after ``after`` (0-based)."""
    if keyword not in _HEREDOC_CAPABLE or "<<" not in rest:
        return (), after
    bodies: list[str] = []
    index = after
    for match in _HEREDOC.finditer(rest):
        strip_tabs, marker = match.group(1) == "-", match.group(3)
        body: list[str] = []
        while True:
            if index >= len(source_lines):
                raise DockerfileError(
                    f"{path}:{line}: {keyword}: heredoc <<{marker} is never closed",
                    hint=f"end it with a line holding only {marker}",
                )
            text = source_lines[index]
            index += 1
            if (text.lstrip("\t") if strip_tabs else text).rstrip("\r") == marker:
                break
            body.append(text)
        bodies.append("\n".join(body))
    return tuple(bodies), index


def _exec_form(keyword: str, rest: str, path: str, line: int) -> tuple[str, ...] | None:
    if keyword not in _EXEC_FORM or not rest.startswith("["):
        return None
    try:
        value = json.loads(rest)
    except ValueError:
        value = None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    # Docker quietly runs a malformed array as a shell command ('["./app"' or
    # "['./app']"), which then fails at start-up; say so now instead.
    looks_like_json = re.match(r"^\[\s*[\"'\u201c\u2018\]]", rest) is not None
    if keyword in _JSON_REQUIRED and looks_like_json:
        raise DockerfileError(
            f"{path}:{line}: {keyword}: not a valid JSON array: {rest}",
            hint='write it as ["executable", "arg"] with double quotes and a closing ]',
        )
    return None


def _check_arguments(keyword: str, instruction: Instruction, path: str) -> None:
    line = instruction.line
    if not instruction.args and not instruction.heredocs:
        raise DockerfileError(f"{path}:{line}: {keyword} has no arguments")
    if keyword in ("COPY", "ADD") and not instruction.heredocs and len(instruction.words()) < 2:
        raise DockerfileError(
            f"{path}:{line}: {keyword} needs a source and a destination",
            hint=f"{keyword} <src>... <dest>, e.g. {keyword} go.mod go.sum ./",
        )
    if keyword == "FROM":
        words = instruction.args.split()
        if len(words) not in (1, 3) or (len(words) == 3 and words[1].upper() != "AS"):
            raise DockerfileError(
                f"{path}:{line}: FROM takes an image and optionally 'AS name', got: {instruction.args}",
            )


def parse_dockerfile(text: str, path: str = "Dockerfile") -> Dockerfile:
    """Parse Dockerfile text; raises DockerfileError where Docker would refuse it."""
    all_lines = text.replace("\r\n", "\n").split("\n")
    instructions: list[Instruction] = []
    directives: dict[str, str] = {}
    file_ignores: set[str] = set()
    # Heredoc bodies are lines the logical-line reader must not see again.
    skip_until = 0
    entries = list(_logical_lines(text, path))
    for start, end, joined, ignores, entry_directives in entries:
        directives.update(entry_directives)
        if ignores is None:
            file_ignores |= set(joined.split())
            continue
        if start == 0 or start <= skip_until:
            continue
        keyword_word, *tail = joined.split(None, 1)
        rest = tail[0] if tail else ""
        keyword = keyword_word.upper()
        if keyword not in INSTRUCTIONS:
            previous = instructions[-1].keyword if instructions else None
            hint = (
                "is a '\\' missing at the end of the line before?"
                if previous == "RUN"
                else "instructions are FROM, RUN, COPY, ADD, ENV, ARG, USER, WORKDIR, CMD, ENTRYPOINT, ..."
            )
            raise DockerfileError(f"{path}:{start}: unknown instruction '{keyword_word}'", hint=hint)
        rest = rest.strip()
        flags, rest = _split_flags(rest) if keyword in ("FROM", "RUN", "COPY", "ADD", "HEALTHCHECK") else ((), rest)
        heredocs, next_index = _heredocs(keyword, rest, all_lines, end, path, start)
        if heredocs:
            end = next_index
            skip_until = next_index
        instruction = Instruction(
            keyword=keyword,
            args=rest,
            line=start,
            end_line=end,
            flags=flags,
            exec_form=_exec_form(keyword, rest, path, start),
            heredocs=heredocs,
            ignores=frozenset(ignores),
            text=joined,
        )
        _check_arguments(keyword, instruction, path)
        instructions.append(instruction)
    return _stages(path, instructions, directives, frozenset(file_ignores))


def _parse_arg(args: str) -> list[tuple[str, str | None]]:
    result: list[tuple[str, str | None]] = []
    try:
        words = shlex.split(args)
    except ValueError:
        words = args.split()
    for word in words:
        name, eq, value = word.partition("=")
        result.append((name, value if eq else None))
    return result


def _stages(
    path: str, instructions: list[Instruction], directives: dict[str, str], file_ignores: frozenset[str]
) -> Dockerfile:
    global_args: dict[str, str | None] = {}
    stages: list[Stage] = []
    current: list[Instruction] = []
    head: Instruction | None = None

    def close() -> None:
        if head is None:
            return
        words = head.args.split()
        raw = words[0]
        name = words[2] if len(words) == 3 else None
        image = substitute(raw, global_args)
        parent = None
        for earlier in stages:
            if earlier.name is not None and earlier.name.lower() == image.lower():
                parent = earlier.index
        stages.append(
            Stage(
                index=len(stages), image=image, image_raw=raw, name=name,
                from_instruction=head, instructions=tuple(current), parent=parent,
            )
        )

    for instruction in instructions:
        if instruction.keyword == "FROM":
            close()
            head, current = instruction, []
        elif head is None:
            if instruction.keyword != "ARG":
                raise DockerfileError(
                    f"{path}:{instruction.line}: {instruction.keyword} before the first FROM",
                    hint="only ARG may come before FROM",
                )
            global_args.update(_parse_arg(instruction.args))
        else:
            current.append(instruction)
    close()
    if not stages:
        raise DockerfileError(f"{path}: no FROM instruction", hint="a Dockerfile starts with FROM <image>")
    return Dockerfile(
        path=path,
        instructions=tuple(instructions),
        stages=tuple(stages),
        directives=directives,
        global_args=global_args,
        file_ignores=file_ignores,
    )


@dataclass(frozen=True)
class ImageRef:
    """``registry/repo:tag@digest`` split up; ``repo`` is the last path part (``golang``)."""

    name: str
    tag: str | None
    digest: str | None

    @property
    def repo(self) -> str:
        return self.name.rsplit("/", 1)[-1]


def parse_image(reference: str) -> ImageRef:
    name, _, digest = reference.partition("@")
    tag = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    return ImageRef(name=name.lower(), tag=tag, digest=digest or None)


def parse_env(args: str) -> list[tuple[str, str]]:
    """``ENV A=1 B="x y"`` or the legacy ``ENV A value with spaces`` as (name, value) pairs."""
    first = args.split(None, 1)
    if first and "=" not in first[0]:
        return [(first[0], first[1] if len(first) > 1 else "")]
    try:
        words = shlex.split(args)
    except ValueError:
        words = args.split()
    return [(word.partition("=")[0], word.partition("=")[2]) for word in words]


def parse_arg(args: str) -> list[tuple[str, str | None]]:
    """``ARG A=1 B`` as (name, default or None) pairs."""
    return _parse_arg(args)


@dataclass(frozen=True)
class ContextSource:
    """A path of the build context a COPY or ADD reads."""

    instruction: Instruction
    #: the source as written: "dist/$TARGETOS/$TARGETARCH/app".
    written: str
    #: the part every build reads for sure: ARG defaults substituted, then cut
    #: before the first unknown variable or glob ("dist" for the source above);
    #: "" when the source is the whole context.
    path: str


#: A COPY/ADD source that is no context path: a URL (``https://``, ``git://``...) or ``git@host:repo``.
_URL = re.compile(r"[a-z][a-z0-9+.-]*://|git@", re.IGNORECASE)


def is_url(source: str) -> bool:
    """Whether a COPY/ADD source is a URL or git remote rather than a path of the context."""
    return _URL.match(source) is not None


def normalise_source(source: str) -> str:
    """A COPY/ADD source as a path relative to the context: blanks, leading '/' and
    './' (in any mix: '/./x', './/x') and trailing '/' dropped."""
    return re.sub(r"^(?:\.?/)+", "", source.strip()).rstrip("/")


def _known_part(source: str) -> str:
    cut = len(source)
    for char in "$*?[":
        index = source.find(char)
        if index != -1:
            cut = min(cut, index)
    known = source[:cut]
    if cut < len(source):
        known = known.rsplit("/", 1)[0] if "/" in known else ""
    known = normalise_source(known)
    return "" if known == "." else known


def context_sources(df: Dockerfile) -> list[ContextSource]:
    """Every context path a COPY/ADD reads (not ``--from`` another stage or image,
    not a URL, not a heredoc), with ARG defaults substituted."""
    found: list[ContextSource] = []
    for stage in df.stages:
        values: dict[str, str | None] = dict(df.global_args)
        for instruction in stage.instructions:
            if instruction.keyword == "ARG":
                values.update(_parse_arg(instruction.args))
                continue
            if instruction.keyword not in ("COPY", "ADD") or instruction.heredocs or instruction.flag("from") is not None:
                continue
            for written in instruction.words()[:-1]:
                if is_url(written):
                    continue
                path = _known_part(substitute(written, values))
                found.append(ContextSource(instruction, written, path))
    return found
