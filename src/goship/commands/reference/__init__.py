"""The command line described as data, and what is rendered from it.

    spec.py         the argparse parser read into plain data: commands, options, positionals
    environment.py  every environment variable goship reads, and what it does
    markdown.py     docs/reference.md and the ``goship help`` topics (exit codes, environment, --json)
    completion.py   shell completion scripts for bash, zsh, fish and PowerShell

Everything here is pure: the CLI passes its parser in, and prints what comes back.
Nothing is written by hand twice, so the reference and the completion scripts
cannot drift from the parser (a unit test keeps docs/reference.md fresh).
"""
