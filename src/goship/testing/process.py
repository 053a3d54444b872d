"""A process runner that runs nothing: it records each argv and answers from a script.

``FakeRunner`` implements ``goship.process.Runner``. Answers are matched on
the program's name (the basename of argv[0]) and the arguments that follow,
as a prefix; the most recent matching answer wins. A program with no answer
is missing, as ``process.run`` says for a program that is not installed::

    runner = FakeRunner()
    runner.answer("git", "rev-parse", "HEAD", stdout="3f2a9c1d0b7e" + "0" * 28)
    runner.answer("go", "build", do=lambda call: write_binary(call))

``fake_go_and_git`` scripts what the native builder asks: a clean git
checkout at a commit, and a ``go build`` that writes the given bytes as
the binary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from goship.errors import ProcessError
from goship.process import Completed


@dataclass(frozen=True)
class Call:
    argv: tuple[str, ...]
    cwd: str | None
    env: Mapping[str, str] | None
    input: bytes

    @property
    def program(self) -> str:
        return PurePath(self.argv[0]).name if self.argv else ""

    def option(self, flag: str) -> str | None:
        """The value after ``flag`` (``-o out`` gives ``out``)."""
        args = list(self.argv)
        return args[args.index(flag) + 1] if flag in args[:-1] else None


@dataclass
class _Answer:
    prefix: tuple[str, ...]
    returncode: int = 0
    stdout: bytes = b""
    stderr: bytes = b""
    do: Callable[[Call], None] | None = None


@dataclass
class FakeRunner:
    calls: list[Call] = field(default_factory=list)
    _answers: list[_Answer] = field(default_factory=list)

    def answer(
        self,
        program: str,
        *args: str,
        returncode: int = 0,
        stdout: str | bytes = b"",
        stderr: str | bytes = b"",
        do: Callable[[Call], None] | None = None,
    ) -> None:
        """Answer ``program args...`` (and any longer argv starting so); ``do`` runs first (to write files)."""
        self._answers.append(
            _Answer((program, *args), returncode, _bytes(stdout), _bytes(stderr), do)
        )

    def find_program(self, program: str) -> str | None:
        return f"/fake/bin/{program}" if any(a.prefix[0] == program for a in self._answers) else None

    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | str | None = None,
        timeout: float | None = 60,
        cwd: Path | str | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> Completed:
        call = Call(tuple(argv), None if cwd is None else str(cwd), env, _bytes(input or b""))
        self.calls.append(call)
        words = (call.program, *call.argv[1:])
        answer = next((a for a in reversed(self._answers) if words[: len(a.prefix)] == a.prefix), None)
        if answer is None:
            if not any(a.prefix[0] == call.program for a in self._answers):
                raise ProcessError(f"cannot run {argv[0]}: No such file or directory", argv=call.argv, not_found=True)
            answer = _Answer((call.program,), returncode=1, stderr=b"(FakeRunner: no answer for these arguments)")
        if answer.do is not None:
            answer.do(call)
        done = Completed(call.argv, answer.returncode, answer.stdout, answer.stderr, 0.0)
        if check and answer.returncode != 0:
            raise ProcessError(
                f"'{' '.join(call.argv)}' failed with exit code {answer.returncode}",
                argv=call.argv, returncode=answer.returncode, stderr=done.err, stdout=done.text,
            )
        return done

    def ran(self, program: str) -> list[Call]:
        """The calls of ``program``, in order."""
        return [call for call in self.calls if call.program == program]


def _bytes(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def fake_go_and_git(
    runner: FakeRunner, binary: bytes, *, revision: str = "3f2a9c1d0b7e" + "5" * 28, commit_time: int = 1700000000
) -> None:
    """Script a clean checkout at ``revision`` and a ``go build`` that writes ``binary`` to its ``-o`` path."""
    runner.answer("git", "rev-parse", "HEAD", stdout=revision + "\n")
    runner.answer("git", "status", stdout="")
    runner.answer("git", "log", "-1", "--format=%ct", stdout=f"{commit_time}\n")
    runner.answer("git", "check-ignore", returncode=1)

    def write(call: Call) -> None:
        output = call.option("-o")
        assert output is not None, f"go build without -o: {call.argv}"
        Path(output).write_bytes(binary)

    runner.answer("go", "build", do=write)
