"""Docker hosts: running commands locally or over SSH, and the commands themselves."""
