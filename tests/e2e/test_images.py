"""The images goship builds, checked by clients nobody here wrote: skopeo,
oci-image-tool, docker on a remote test host.

Covers issue #3: reproducible digests, multi-arch indexes, small non-root
images, app-layer-only re-pushes, SBOM referrers, --output kinds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import assert_clean_failure, run_goship, set_greeting, wait_for_answer

pytestmark = pytest.mark.e2e

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com", "GIT_AUTHOR_DATE": "2026-01-02T03:04:05Z",
    "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com", "GIT_COMMITTER_DATE": "2026-01-02T03:04:05Z",
}


def _git_commit(repo: Path) -> None:
    env = {**os.environ, **GIT_ENV}
    for argv in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "hello"]):
        subprocess.run(argv, cwd=repo, env=env, check=True, capture_output=True)


def _skopeo(*args: str) -> str:
    result = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _configure(project: Path, registry_addr: str, repo: str = "team/hello", extra: str = "") -> None:
    (project / "goship.yaml").write_text(
        f"image: {registry_addr}/{repo}\nregistry:\n  insecure: true\n{extra}", encoding="utf-8"
    )


def _events(result: subprocess.CompletedProcess[str]) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_same_commit_gives_the_same_digest_anywhere(hello, tmp_path, test_registry):
    """Two checkouts of one commit, in different directories, built at different
    times with different file times and Go caches: skopeo sees one digest,
    in each checkout's OCI layout and in the registry after each push."""
    first = hello
    second = tmp_path / "elsewhere" / "deeper" / "checkout"
    _configure(first, test_registry.addr, repo="repro/hello")
    shutil.copytree(first, second)
    seen = []
    for index, project in enumerate((first, second)):
        _git_commit(project)
        if index:
            time.sleep(1.1)
            for path in project.rglob("*"):
                os.utime(path, (1_000_000_000, 1_000_000_000))
        env = {"GOCACHE": str(tmp_path / f"gocache{index}")}
        assert run_goship("build", "-C", str(project), env=env).returncode == 0
        pushed = run_goship("push", "-C", str(project))
        assert pushed.returncode == 0, pushed.stderr
        version = json.loads((project / ".goship" / "push.json").read_text())["version"]
        layout = json.loads(_skopeo("inspect", f"oci:{project / '.goship' / 'oci'}:{version}"))["Digest"]
        registry = _skopeo("inspect", "--tls-verify=false", "--format", "{{.Digest}}",
                           f"docker://{test_registry.addr}/repro/hello:{version}").strip()
        seen.append((version, layout, registry))
    assert seen[0] == seen[1], seen
    assert seen[0][1] == seen[0][2] and seen[0][1].startswith("sha256:")


def test_multi_arch_index_is_accepted_by_skopeo_oci_image_tool_and_docker(hello, tmp_path, test_registry, remote_host):
    _configure(hello, test_registry.addr, extra="build:\n  platforms: [linux/amd64, linux/arm64]\n")
    built = run_goship("build", "-C", str(hello))
    assert built.returncode == 0, built.stderr
    pushed = run_goship("push", "-C", str(hello))
    assert pushed.returncode == 0, pushed.stderr
    reference = pushed.stdout.strip()

    index = json.loads(_skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{reference}"))
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert sorted(m["platform"]["architecture"] for m in index["manifests"]) == ["amd64", "arm64"]

    # Each platform's image: non-root, everything but the binary under 300 KB compressed.
    repository = reference.split("@", 1)[0]
    for entry in index["manifests"]:
        arch = entry["platform"]["architecture"]
        config = json.loads(_skopeo("inspect", "--config", "--tls-verify=false", f"--override-arch={arch}",
                                    f"docker://{reference}"))
        assert config["architecture"] == arch
        assert config["config"]["User"] == "65532:65532"
        manifest = json.loads(_skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{repository}@{entry['digest']}"))
        *others, app = manifest["layers"]
        assert sum(layer["size"] for layer in others) < 300_000, others

    # skopeo copies the whole index into an OCI layout; oci-image-tool (which
    # predates indexes) validates each platform's image copied on its own.
    _skopeo("copy", "--all", "--src-tls-verify=false", f"docker://{reference}", f"oci:{tmp_path / 'all'}:hello")
    assert len(json.loads(_skopeo("inspect", "--raw", f"oci:{tmp_path / 'all'}:hello"))["manifests"]) == 2
    for arch in ("amd64", "arm64"):
        layout = tmp_path / arch
        _skopeo("copy", "--src-tls-verify=false", f"--override-arch={arch}", f"docker://{reference}", f"oci:{layout}:{arch}")
        validated = subprocess.run(["oci-image-tool", "validate", "--type", "image", "--ref", f"name={arch}", str(layout)],
                                   capture_output=True, text=True)
        assert validated.returncode == 0, validated.stdout + validated.stderr

    # A Docker engine on a remote test host pulls its platform and runs it.
    docker = remote_host.docker_argv()
    subprocess.run([*docker, "rm", "-f", "goship-index-test"], capture_output=True)
    assert subprocess.run([*docker, "pull", reference], capture_output=True, timeout=300).returncode == 0
    run = subprocess.run([*docker, "run", "-d", "--name", "goship-index-test", "-p", "18090:8080", reference],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    try:
        assert wait_for_answer(f"http://{remote_host.address}:18090/") == "Hello from goship!"
        user = subprocess.run([*docker, "inspect", "--format", "{{.Config.User}}", "goship-index-test"],
                              capture_output=True, text=True).stdout.strip()
        assert user == "65532:65532"
    finally:
        subprocess.run([*docker, "rm", "-f", "goship-index-test"], capture_output=True)


def test_code_change_pushes_only_the_app_layer(hello, test_registry):
    """A committed one-line change: new commit time, new version; only the app
    layer, the config and the SBOM are new (the shared layers keep their digests)."""
    _configure(hello, test_registry.addr, repo="team/delta", extra="build:\n  tzdata: true\n")
    _git_commit(hello)
    assert run_goship("build", "-C", str(hello)).returncode == 0
    assert run_goship("push", "-C", str(hello)).returncode == 0
    set_greeting(hello, "Changed greeting")
    env = {**os.environ, **GIT_ENV, "GIT_COMMITTER_DATE": "2026-03-04T05:06:07Z"}
    subprocess.run(["git", "commit", "-q", "-am", "change"], cwd=hello, env=env, check=True)
    assert run_goship("build", "-C", str(hello)).returncode == 0
    pushed = run_goship("push", "-C", str(hello), "--json")
    assert pushed.returncode == 0, pushed.stderr
    done = [e for e in _events(pushed) if e["level"] == "ok"][-1]["data"]
    # The app layer, the image config and the new SBOM (manifests are not blobs).
    layout = hello / ".goship" / "oci"
    index = json.loads((layout / "index.json").read_text())
    manifest_digest = index["manifests"][0]["digest"]
    manifest = json.loads((layout / "blobs" / "sha256" / manifest_digest.split(":")[1]).read_text())
    app_layer = manifest["layers"][-1]["size"]
    assert done["uploaded_blobs"] == 3, done
    assert app_layer < done["uploaded_bytes"] < app_layer + 20_000, (done, app_layer)


def test_second_repository_mounts_the_shared_base_layer(hello, tmp_path, test_registry):
    """A push to a new repository of the same registry mounts the blobs an
    earlier push left there (cross-repository mount) instead of uploading them."""
    cache = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    _configure(hello, test_registry.addr, repo="mounts/first")
    assert run_goship("build", "-C", str(hello)).returncode == 0
    assert run_goship("push", "-C", str(hello), env=cache).returncode == 0
    set_greeting(hello, "Another service")
    _configure(hello, test_registry.addr, repo="mounts/second")
    assert run_goship("build", "-C", str(hello)).returncode == 0
    pushed = run_goship("push", "-C", str(hello), "--json", env=cache)
    assert pushed.returncode == 0, pushed.stderr
    done = [e for e in _events(pushed) if e["level"] == "ok"][-1]["data"]
    assert done["mounted_blobs"] >= 2, done  # the base layer and the SBOM's empty config
    _skopeo("inspect", "--tls-verify=false", f"docker://{test_registry.addr}/mounts/second@{done['digest']}")


def test_sbom_is_attached_and_readable(hello, test_registry):
    _configure(hello, test_registry.addr, repo="team/sbom")
    assert run_goship("build", "-C", str(hello)).returncode == 0
    pushed = run_goship("push", "-C", str(hello))
    assert pushed.returncode == 0, pushed.stderr
    reference = pushed.stdout.strip()
    shown = run_goship("sbom", reference, "--format", "spdx-json", "-C", str(hello))
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert document["spdxVersion"] == "SPDX-2.3"
    names = {p["name"]: p.get("versionInfo") for p in document["packages"]}
    assert names["example.com/hello"] == "(devel)"  # a work tree, not a module version
    assert names["stdlib"].startswith("go1.")
    # The referrer is a real OCI artifact that skopeo reads through the fallback tag.
    digest = reference.split("@", 1)[1]
    listed = json.loads(_skopeo("inspect", "--raw", "--tls-verify=false",
                                f"docker://{test_registry.addr}/team/sbom:sha256-{digest.split(':')[1]}"))
    assert listed["manifests"][0]["artifactType"] == "application/spdx+json"
    artifact = json.loads(_skopeo("inspect", "--raw", "--tls-verify=false",
                                  f"docker://{test_registry.addr}/team/sbom@{listed['manifests'][0]['digest']}"))
    assert artifact["subject"]["digest"] == digest


def test_cyclonedx_sbom_is_attached_valid_and_convertible(hello, test_registry):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    _configure(hello, test_registry.addr, repo="team/cdx", extra="build:\n  sbom: cyclonedx\n")
    assert run_goship("build", "-C", str(hello)).returncode == 0
    pushed = run_goship("push", "-C", str(hello))
    assert pushed.returncode == 0, pushed.stderr
    reference = pushed.stdout.strip()
    digest = reference.split("@", 1)[1]
    listed = json.loads(_skopeo("inspect", "--raw", "--tls-verify=false",
                                f"docker://{test_registry.addr}/team/cdx:sha256-{digest.split(':')[1]}"))
    assert [m["artifactType"] for m in listed["manifests"]] == ["application/vnd.cyclonedx+json"]

    shown = run_goship("sbom", reference, "--format", "cyclonedx-json", "-C", str(hello))
    assert shown.returncode == 0, shown.stderr
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(shown.stdout) is None
    document = json.loads(shown.stdout)
    assert document["metadata"]["component"]["name"] == "example.com/hello"
    assert any(c["name"] == "stdlib" for c in document["components"])
    # The same SBOM as SPDX (converted) and as the table, from the last local build too.
    as_spdx = run_goship("sbom", reference, "--format", "spdx-json", "-C", str(hello))
    assert json.loads(as_spdx.stdout)["spdxVersion"] == "SPDX-2.3"
    table = run_goship("sbom", "-C", str(hello))
    assert table.returncode == 0 and "pkg:golang/stdlib@go1." in table.stdout, table.stderr


def test_outputs_layout_archive_and_local_engine(hello, tmp_path, local_engine):
    (hello / "goship.yaml").write_text("build:\n  tzdata: true\n  files:\n    /etc/hello/motd.txt: motd.txt\n")
    (hello / "motd.txt").write_text("hi\n")
    result = run_goship(
        "build", "-C", str(hello), "-o", f"oci:{tmp_path / 'layout'}", "-o", f"docker-archive:{tmp_path / 'd.tar'}",
        "-o", f"oci-archive:{tmp_path / 'o.tar'}", "-o", "docker",
    )
    assert result.returncode == 0, result.stderr
    tag, digest = result.stdout.split()
    version = tag.split(":")[-1]
    validated = subprocess.run(["oci-image-tool", "validate", "--type", "image", "--ref", f"name={version}",
                                str(tmp_path / "layout")], capture_output=True, text=True)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    # One image per layout (the SBOM rides along as blobs): no ref needed.
    info = json.loads(_skopeo("inspect", f"oci-archive:{tmp_path / 'o.tar'}"))
    assert info["Digest"] == digest
    loaded = subprocess.run(["docker", "load", "-i", str(tmp_path / "d.tar")], capture_output=True, text=True)
    assert loaded.returncode == 0 and tag in loaded.stdout, loaded.stdout + loaded.stderr
    # Time zones and project files are in the image; the image runs as loaded into the engine.
    config = json.loads(_skopeo("inspect", "--config", f"oci:{tmp_path / 'layout'}"))
    assert "ZONEINFO=/usr/share/zoneinfo.zip" in config["config"]["Env"]
    created = subprocess.run(["docker", "create", tag], capture_output=True, text=True)
    assert created.returncode == 0, created.stderr
    container = created.stdout.strip()
    try:
        motd = subprocess.run(["docker", "cp", f"{container}:/etc/hello/motd.txt", "-"], capture_output=True)
        assert b"hi\n" in motd.stdout
        zone = subprocess.run(["docker", "cp", f"{container}:/usr/share/zoneinfo.zip", "-"], capture_output=True)
        assert len(zone.stdout) > 100_000
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)


def test_unsupported_platform_is_a_clean_error(hello):
    (hello / "goship.yaml").write_text("build:\n  platforms: [linux/amd64, windows/amd64]\n")
    assert_clean_failure(run_goship("build", "-C", str(hello)), "unsupported platform 'windows/amd64'", "linux/arm64")


def test_bad_output_kind_is_a_clean_error(hello):
    assert_clean_failure(run_goship("build", "-C", str(hello), "-o", "s3:bucket"), "unknown kind 's3'")


@pytest.mark.parametrize("output, message", [
    ("oci:/etc/passwd", "/etc/passwd is not a directory"),
    ("oci-archive:/tmp", "/tmp is a directory"),
    ("oci:/proc/goship-test", "cannot create files in /proc"),
])
def test_bad_output_path_is_refused_before_building(hello, output, message):
    result = run_goship("build", "-C", str(hello), "-o", output)
    assert result.returncode == 2, result.stdout + result.stderr
    assert_clean_failure(result, f"--output {output}: {message}")
    assert not (hello / ".goship" / "oci").exists()  # nothing was built


def test_outputs_that_cannot_run_here_are_warned(hello, tmp_path, local_engine):
    (hello / "goship.yaml").write_text("build:\n  platforms: [linux/amd64, linux/arm64]\n")
    both = run_goship("build", "-C", str(hello), "-o", f"docker-archive:{tmp_path / 'd.tar'}")
    assert both.returncode == 0, both.stderr
    assert "the archive holds only linux/amd64 of linux/amd64, linux/arm64" in both.stderr, both.stderr
    assert "oci-archive" in both.stderr
    (hello / "goship.yaml").write_text("build:\n  platform: linux/arm64\n")
    arm = run_goship("build", "-C", str(hello), "-o", "docker", "--json")
    assert arm.returncode == 0, arm.stderr
    warnings = [e["message"] for e in _events(arm) if e["level"] == "warn" and e["stage"] == "output"]
    assert any("linux/arm64" in w and "runs amd64" in w and "exec format error" in w for w in warnings), warnings


def test_push_output_without_image_fails_before_building(hello):
    result = run_goship("build", "-C", str(hello), "-o", "registry")
    assert_clean_failure(result, "'image' is not set in goship.yaml")
    assert "go build" not in result.stderr


def test_platform_and_platforms_together_are_refused(hello):
    (hello / "goship.yaml").write_text("build:\n  platform: linux/arm64\n  platforms: [linux/amd64]\n")
    assert_clean_failure(run_goship("build", "-C", str(hello)), "build.platform and build.platforms are both set")


@pytest.mark.parametrize("destination", ["/etc/passwd", "/tmp", "/usr/local/bin/hello"])
def test_build_files_may_not_replace_what_the_image_needs(hello, destination):
    (hello / "motd.txt").write_text("hi\n")
    (hello / "goship.yaml").write_text(f"build:\n  files:\n    {destination}: motd.txt\n")
    assert_clean_failure(run_goship("build", "-C", str(hello)), "is part of the image goship builds")


def test_output_inside_the_module_is_warned_about(hello):
    _git_commit(hello)
    result = run_goship("build", "-C", str(hello), "-o", f"oci:{hello / 'out'}")
    assert result.returncode == 0, result.stderr
    assert "is inside the module: the next build counts it as an uncommitted change" in result.stderr
