"""Go source analysis: what a Go module's sources and go.work say, read as text (no ``go`` needed).

    goscan.py     lexical helpers over Go source (comments blanked, calls split, names followed to literals)
    listeners.py  where a service listens (listen calls, http.Server), ranked
    routes.py     the health path guessed from route registrations
    settings.py   the flags and environment variables a service reads, and which it requires
    detect.py     the port and health guesses, and the main package's sources they read
    workspace.py  go.work: which modules build together

The module model itself (go.mod, main packages) is ``goship.project``.
"""
