"""SBOMs from a Go binary's embedded build information, as SPDX 2.3 JSON.

Every Go binary since 1.18 carries what ``go version -m`` prints: the main
module, each dependency with its version and go.sum hash, and the build
settings. Reading that blob straight from the bytes (rather than running
``go version -m``) lets ``goship sbom`` describe any image, built by goship
or by a Dockerfile, on a machine without Go. The document is a pure function
of the binary and the build time, so it is as reproducible as the image.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass, field

from goship._version import __version__
from goship.errors import BuildError
from goship.images.oci import canonical_json, rfc3339

_MAGIC = b"\xff Go buildinf:"
_FLAG_INLINE = 0x2  # Go >= 1.18: version and module info follow the header


@dataclass(frozen=True)
class Module:
    path: str
    version: str
    sum: str = ""  # go.sum hash (h1:...), empty for the main module
    replaced_by: Module | None = None


@dataclass(frozen=True)
class BuildInfo:
    go_version: str  # e.g. go1.27.3
    path: str  # main package path
    main: Module
    deps: tuple[Module, ...]
    settings: dict[str, str] = field(default_factory=dict)


def _uvarint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def read_build_info(binary: bytes) -> BuildInfo:
    """Parse the build information Go embeds in ``binary``."""
    # The header sits on a 16-byte boundary of the data section.
    pos = binary.find(_MAGIC)
    while pos != -1 and pos % 16:
        pos = binary.find(_MAGIC, pos + 1)
    if pos == -1:
        raise BuildError("not a Go binary (no build information found)")
    if not binary[pos + 15] & _FLAG_INLINE:
        raise BuildError("Go binary built before Go 1.18: its module list cannot be read")
    try:
        length, cursor = _uvarint(binary, pos + 32)
        version = binary[cursor : cursor + length].decode()
        length, cursor = _uvarint(binary, cursor + length)
        raw = binary[cursor : cursor + length]
        # The module text is wrapped in 16-byte binary sentinels.
        if len(raw) >= 33 and raw[-17:-16] == b"\n":
            raw = raw[16:-16]
        modinfo = raw.decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise BuildError(f"unreadable Go build information: {exc}") from None
    return parse_modinfo(version, modinfo)


def parse_modinfo(go_version: str, text: str) -> BuildInfo:
    """The tab-separated lines ``go version -m`` prints, without the file name."""
    path = ""
    main = Module("", "")
    deps: list[Module] = []
    settings: dict[str, str] = {}
    for line in text.splitlines():
        fields = line.strip("\t").split("\t")
        kind, rest = fields[0], fields[1:]
        if kind == "path" and rest:
            path = rest[0]
        elif kind == "mod" and rest:
            main = Module(rest[0], rest[1] if len(rest) > 1 else "", rest[2] if len(rest) > 2 else "")
        elif kind == "dep" and rest:
            deps.append(Module(rest[0], rest[1] if len(rest) > 1 else "", rest[2] if len(rest) > 2 else ""))
        elif kind == "=>" and rest and deps:
            replacement = Module(rest[0], rest[1] if len(rest) > 1 else "", rest[2] if len(rest) > 2 else "")
            last = deps.pop()
            deps.append(Module(last.path, last.version, last.sum, replacement))
        elif kind == "build" and rest:
            key, _, value = rest[0].partition("=")
            settings[key] = value
    return BuildInfo(go_version, path, main, tuple(deps), settings)


def _purl(module: Module) -> str:
    version = module.version if module.version and module.version != "(devel)" else ""
    return f"pkg:golang/{module.path}" + (f"@{version}" if version else "")


def _spdx_id(kind: str, name: str) -> str:
    safe = "".join(c if c.isalnum() or c in ".-" else "-" for c in name)
    return f"SPDXRef-{kind}-{safe}"


def _package(spdx_id: str, name: str, version: str, purl: str, comment: str = "") -> dict[str, object]:
    package: dict[str, object] = {
        "SPDXID": spdx_id,
        "name": name,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}],
    }
    if version:
        package["versionInfo"] = version
    if comment:
        package["comment"] = comment
    return package


def spdx_document(info: BuildInfo, binary_digest: str, name: str, created: int) -> dict[str, object]:
    """An SPDX 2.3 document: the main module, the Go standard library, each dependency."""
    main_id = _spdx_id("Package", info.main.path or info.path or name)
    packages = [
        _package(
            main_id,
            info.main.path or info.path,
            info.main.version,
            _purl(info.main),
            comment="build settings: " + " ".join(f"{k}={v}" for k, v in sorted(info.settings.items())),
        ),
        _package(_spdx_id("Package", "stdlib"), "stdlib", info.go_version, f"pkg:golang/stdlib@{info.go_version}"),
    ]
    relationships = [
        {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": main_id},
        {"spdxElementId": main_id, "relationshipType": "DEPENDS_ON", "relatedSpdxElement": packages[1]["SPDXID"]},
    ]
    for dep in info.deps:
        used = dep.replaced_by or dep
        comment = f"go.sum {used.sum}" if used.sum else ""
        if dep.replaced_by and dep.replaced_by.path.startswith((".", "/")):
            # A local directory is not the published module version: name the
            # module without a version (scanners must not match v1.2.3's
            # advisories to other code), and say where the code came from.
            comment = f"replaced by the local directory {dep.replaced_by.path} (go.mod requires {dep.version})"
            used = Module(dep.path, "")
        elif dep.replaced_by:
            comment = f"replaces {dep.path} {dep.version}; " + comment
        package = _package(_spdx_id("Package", dep.path), dep.path, used.version, _purl(used), comment.strip("; "))
        packages.append(package)
        relationships.append(
            {"spdxElementId": main_id, "relationshipType": "DEPENDS_ON", "relatedSpdxElement": package["SPDXID"]}
        )
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        # Unique per binary, yet reproducible: derived from its digest.
        "documentNamespace": f"https://goship.dev/spdx/{name}/{binary_digest.split(':', 1)[-1]}",
        "creationInfo": {"created": rfc3339(created), "creators": [f"Tool: goship-{__version__}"]},
        "packages": packages,
        "relationships": relationships,
    }


def sbom_for_binary(binary: bytes, name: str, created: int, main_version: str = "") -> bytes:
    """The SPDX JSON bytes for a Go binary (canonical, so reproducible).

    ``main_version`` replaces the "(devel)" Go records for a main module
    built from a work tree, when it is a module version (vX.Y.Z); a commit
    or source hash is left to the image's labels, not passed off as one.
    """
    info = read_build_info(binary)
    if main_version and info.main.version in ("", "(devel)") and re.fullmatch(r"v\d+\.\d+\.\d+\S*", main_version):
        # A release tag is the module's version; goship's own commit tags are not.
        info = dataclasses.replace(info, main=dataclasses.replace(info.main, version=main_version))
    digest = "sha256:" + hashlib.sha256(binary).hexdigest()
    return canonical_json(spdx_document(info, digest, name, created))
