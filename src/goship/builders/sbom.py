"""SBOMs from a Go binary's embedded build information, as SPDX 2.3 or CycloneDX 1.6 JSON.

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
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from goship._version import __version__
from goship.builders.version import SourceVersion
from goship.errors import BuildError
from goship.images import oci
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


def _cdx_properties(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in pairs]


def _cdx_component(module: Module, kind: str = "library", properties: list[tuple[str, str]] | None = None) -> dict[str, object]:
    purl = _purl(module)
    component: dict[str, object] = {"type": kind, "bom-ref": purl, "name": module.path, "purl": purl}
    if module.version:
        component["version"] = module.version
    props = _cdx_properties(properties or [])
    if props:
        component["properties"] = props
    return component


def cyclonedx_document(info: BuildInfo, binary_digest: str, name: str, created: int) -> dict[str, object]:
    """A CycloneDX 1.6 BOM: the binary (its main module) as the metadata component,
    the Go standard library and each dependency as components."""
    hex_digest = binary_digest.split(":", 1)[-1]
    main = dataclasses.replace(info.main, path=info.main.path or info.path or name)
    main_component = _cdx_component(
        main, "application",
        [(f"goship:build:{key}", value) for key, value in sorted(info.settings.items())],
    )
    main_component["hashes"] = [{"alg": "SHA-256", "content": hex_digest}]
    stdlib: dict[str, object] = {"type": "library", "bom-ref": f"pkg:golang/stdlib@{info.go_version}", "name": "stdlib",
              "version": info.go_version, "purl": f"pkg:golang/stdlib@{info.go_version}"}
    components: list[dict[str, object]] = [stdlib]
    for dep in info.deps:
        used = dep.replaced_by or dep
        properties = [("goship:go.sum", used.sum)] if used.sum else []
        if dep.replaced_by and dep.replaced_by.path.startswith((".", "/")):
            # As in SPDX: a local directory is not the published version.
            used = Module(dep.path, "")
            properties = [("goship:replaced-by", f"the local directory {dep.replaced_by.path}"),
                          ("goship:go.mod-requires", dep.version)]
        elif dep.replaced_by:
            properties.append(("goship:replaces", f"{dep.path} {dep.version}"))
        components.append(_cdx_component(used, properties=properties))
    refs = [str(c["bom-ref"]) for c in components]
    return {
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        # Unique per binary, yet reproducible: derived from its digest.
        "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'https://goship.dev/cyclonedx/{name}/{hex_digest}')}",
        "version": 1,
        "metadata": {
            "timestamp": rfc3339(created),
            "tools": {"components": [{"type": "application", "name": "goship", "version": __version__}]},
            "component": main_component,
            "properties": [{"name": "goship:name", "value": name}],
        },
        "components": components,
        "dependencies": [
            {"ref": str(main_component["bom-ref"]), "dependsOn": refs},
            *({"ref": ref} for ref in refs),
        ],
    }


#: build.sbom's format -> the document it is written as.
_DOCUMENTS = {"spdx": spdx_document, "cyclonedx": cyclonedx_document}


def sbom_for_binary(binary: bytes, name: str, created: int, main_version: str = "", format: str = "spdx") -> bytes:
    """The SBOM JSON bytes (SPDX or CycloneDX) for a Go binary (canonical, so reproducible).

    ``main_version`` replaces the "(devel)" Go records for a main module
    built from a work tree, when it is a module version (vX.Y.Z); a commit
    or source hash is left to the image's labels, not passed off as one.
    """
    info = read_build_info(binary)
    if main_version and info.main.version in ("", "(devel)") and re.fullmatch(r"v\d+\.\d+\.\d+\S*", main_version):
        # A release tag is the module's version; goship's own commit tags are not.
        info = dataclasses.replace(info, main=dataclasses.replace(info.main, version=main_version))
    digest = "sha256:" + hashlib.sha256(binary).hexdigest()
    return canonical_json(_DOCUMENTS[format](info, digest, name, created))


# -- reading goship's documents back, to write them in the other format ---------------------------

#: Build setting keys Go records: flags (-ldflags), environment (CGO_ENABLED, GOARCH), vcs.*.
_SETTING_KEY = re.compile(r"(?:^| )(-[a-z]+|[A-Z][A-Z0-9_]*|vcs(?:\.[a-z]+)?|DefaultGODEBUG)=")
_LOCAL_REPLACEMENT = re.compile(r"^replaced by the local directory (\S+) \(go\.mod requires (\S+)\)$")


def _settings_from_comment(comment: str) -> dict[str, str]:
    text = comment.removeprefix("build settings: ")
    starts = list(_SETTING_KEY.finditer(text))
    settings: dict[str, str] = {}
    for index, match in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
        settings[match.group(1)] = text[match.end() : end]
    return settings


def _created(text: str) -> int:
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


def _from_spdx(document: dict[str, object]) -> tuple[BuildInfo, str, str, int]:
    packages = [p for p in document.get("packages", []) if isinstance(p, dict)]  # type: ignore[attr-defined]
    described = next(
        (r.get("relatedSpdxElement") for r in document.get("relationships", [])  # type: ignore[attr-defined]
         if isinstance(r, dict) and r.get("relationshipType") == "DESCRIBES"),
        None,
    )
    main_package = next((p for p in packages if p.get("SPDXID") == described), packages[0] if packages else {})
    go_version = next((str(p.get("versionInfo", "")) for p in packages if p.get("name") == "stdlib"), "")
    deps = []
    for package in packages:
        if package is main_package or package.get("name") == "stdlib":
            continue
        comment = str(package.get("comment", ""))
        name, version = str(package.get("name", "")), str(package.get("versionInfo", ""))
        local = _LOCAL_REPLACEMENT.match(comment)
        total = re.search(r"go\.sum (\S+)", comment)
        replaces = re.match(r"replaces (\S+) ([^\s;]+)", comment)
        go_sum = total.group(1) if total else ""
        if local:
            deps.append(Module(name, local.group(2), "", Module(local.group(1), "")))
        elif replaces:
            purl = next((str(r.get("referenceLocator", "")) for r in package.get("externalRefs", [])
                         if isinstance(r, dict) and r.get("referenceType") == "purl"), "")
            path = purl.removeprefix("pkg:golang/").split("@", 1)[0] or name
            deps.append(Module(replaces.group(1), replaces.group(2), "", Module(path, version, go_sum)))
        else:
            deps.append(Module(name, version, go_sum))
    main = Module(str(main_package.get("name", "")), str(main_package.get("versionInfo", "")))
    settings = _settings_from_comment(str(main_package.get("comment", "")))
    namespace = str(document.get("documentNamespace", ""))
    creation = document.get("creationInfo", {})
    created = _created(str(creation.get("created", ""))) if isinstance(creation, dict) else 0
    info = BuildInfo(go_version, main.path, main, tuple(deps), settings)
    return info, "sha256:" + namespace.rsplit("/", 1)[-1], str(document.get("name", main.path)), created


def _properties(component: dict[str, object]) -> dict[str, str]:
    return {
        str(p.get("name")): str(p.get("value", ""))
        for p in component.get("properties", [])  # type: ignore[attr-defined]
        if isinstance(p, dict)
    }


def _from_cyclonedx(document: dict[str, object]) -> tuple[BuildInfo, str, str, int]:
    metadata = document.get("metadata", {})
    metadata = metadata if isinstance(metadata, dict) else {}
    component = metadata.get("component", {}) if isinstance(metadata.get("component"), dict) else {}
    settings = {
        key.removeprefix("goship:build:"): value
        for key, value in _properties(component).items()
        if key.startswith("goship:build:")
    }
    main = Module(str(component.get("name", "")), str(component.get("version", "")))
    go_version, deps = "", []
    for item in document.get("components", []):  # type: ignore[attr-defined]
        if not isinstance(item, dict):
            continue
        name, version = str(item.get("name", "")), str(item.get("version", ""))
        if name == "stdlib":
            go_version = version
            continue
        properties = _properties(item)
        if "goship:replaced-by" in properties:
            directory = properties["goship:replaced-by"].removeprefix("the local directory ")
            deps.append(Module(name, properties.get("goship:go.mod-requires", ""), "", Module(directory, "")))
        elif "goship:replaces" in properties:
            path, _, required = properties["goship:replaces"].partition(" ")
            deps.append(Module(path, required, "", Module(name, version, properties.get("goship:go.sum", ""))))
        else:
            deps.append(Module(name, version, properties.get("goship:go.sum", "")))
    hashes = [h for h in component.get("hashes", []) if isinstance(h, dict) and h.get("alg") == "SHA-256"]
    digest = "sha256:" + str(hashes[0].get("content", "")) if hashes else "sha256:"
    info = BuildInfo(go_version, main.path, main, tuple(deps), settings)
    named = {p.get("name"): p.get("value") for p in metadata.get("properties", []) if isinstance(p, dict)}
    name = str(named.get("goship:name") or main.path.rsplit("/", 1)[-1])
    return info, digest, name, _created(str(metadata.get("timestamp", "")))


def document_format(document: dict[str, object]) -> str:
    """"spdx" or "cyclonedx", by the document's own markers."""
    if document.get("bomFormat") == "CycloneDX":
        return "cyclonedx"
    if str(document.get("spdxVersion", "")).startswith("SPDX-"):
        return "spdx"
    raise BuildError("not an SPDX or CycloneDX JSON document")


def convert(document: dict[str, object], to: str) -> dict[str, object]:
    """A goship SBOM in the other format (``to``: spdx or cyclonedx), from the same
    modules, versions, go.sum hashes and build settings."""
    source = document_format(document)
    if source == to:
        return document
    info, digest, name, created = _from_spdx(document) if source == "spdx" else _from_cyclonedx(document)
    return _DOCUMENTS[to](info, digest, name, created)


def sbom_artifact(
    binary: bytes, image: oci.Image, name: str, source: SourceVersion, format: str = "spdx"
) -> oci.Artifact:
    """The SBOM (SPDX or CycloneDX) of ``binary`` as an OCI artifact whose subject is ``image``."""
    document = sbom_for_binary(binary, name, source.timestamp, main_version=source.version, format=format)
    media = oci.SBOM_MEDIA[format]
    return oci.make_artifact(
        media,
        oci.Blob(media, document),
        image.manifest,
        {"org.opencontainers.image.created": oci.rfc3339(source.timestamp)},
    )
