"""OCI images as data: blobs, manifests, indexes and artifacts, the
files they are kept in (OCI image layouts, docker-archive tarballs), and
image references (``reference``).

Builders make these, the registry client pushes and pulls them, deploys
load them; none of that is here. Pure, apart from reading and writing
layouts on disk.
"""
