"""The commands as library calls: each subpackage or module is one ``goship`` command.

    init/        goship init and goship dockerfile: the files goship writes into a Go project
    doctor/      goship doctor: is this machine (and are the target hosts) ready to ship?
    lint/        goship lint: the Dockerfile, .dockerignore and goship.yaml checked
    sbom.py      goship sbom: the SBOM of a built or pushed image
    accounts.py  goship login, logout and tags: registry credentials and listings

They are independent of each other (an import-linter contract says so); the
CLI (``goship.cli``) imports each one when its command runs.
"""
