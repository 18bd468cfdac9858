"""Which engine builds the image, the command line it gets, and what `make image-deps` does about it.

Lambda refuses an image index, which Docker's buildx makes by default (provenance attestations): each engine's
command line must produce one image manifest. The engine pick runs real executables: small stand-in CLIs on
PATH that answer `info` or fail as a CLI without its daemon does, and this machine's own docker CLI.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from image.__main__ import main
from image.build import INDEX_TYPES, OCI_MANIFEST, BuiltImage, manifest_type
from image.tools import (
    BUILDAH,
    ENGINE_ENV,
    build_command,
    buildah_build,
    cannot_install,
    family,
    has_buildx,
    install_tools,
    pick_engine,
)

ATTESTATION_FLAGS = {"--provenance=false", "--sbom=false"}


def stand_in_cli(directory: Path, name: str, *, daemon: bool) -> Path:
    """An executable `name` whose `info` succeeds only with a daemon behind it, as the real CLIs behave."""
    cli = directory / name
    cli.write_text(f'#!/bin/sh\n[ "$1" = info ] && exit {0 if daemon else 1}\nexit 0\n')
    cli.chmod(0o755)
    return cli


@pytest.fixture
def path_of(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH holding only the stand-in CLIs written into it (no apt-get, buildah or real docker)."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(ENGINE_ENV, raising=False)
    return tmp_path


def test_a_docker_cli_without_daemon_leaves_the_build_to_buildah(path_of: Path) -> None:
    stand_in_cli(path_of, "docker", daemon=False)
    assert pick_engine() == "buildah"


def test_docker_builds_when_its_daemon_answers(path_of: Path) -> None:
    stand_in_cli(path_of, "docker", daemon=True)
    assert pick_engine() == "docker"


@pytest.mark.parametrize("name", ["podman", "finch"])
def test_cdk_docker_picks_the_engine_as_the_cdk_cli_does(
    path_of: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    stand_in_cli(path_of, "docker", daemon=True)
    stand_in_cli(path_of, name, daemon=True)
    monkeypatch.setenv(ENGINE_ENV, name)
    assert pick_engine() == name


def test_cdk_docker_naming_a_silent_engine_falls_back_to_buildah_not_to_docker(
    path_of: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CDK CLI would build with CDK_DOCKER, so docker answering does not stand in for it."""
    stand_in_cli(path_of, "docker", daemon=True)
    stand_in_cli(path_of, "podman", daemon=False)
    monkeypatch.setenv(ENGINE_ENV, "podman")
    assert pick_engine() == "buildah"


def test_this_machines_docker_cli_alone_is_not_an_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """On the project's machines a docker CLI is installed with no daemon: the pick must not take it."""
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "info"], capture_output=True).returncode == 0:
        pytest.skip("needs a docker CLI without a daemon, as on this project's machines")
    monkeypatch.delenv(ENGINE_ENV, raising=False)
    assert pick_engine() == "buildah"


@pytest.mark.parametrize(
    ("engine", "expected"),
    [
        ("docker", "docker"),
        ("/usr/local/bin/docker", "docker"),
        ("podman", "podman"),
        ("/opt/homebrew/bin/podman", "podman"),
        ("finch", "finch"),
        ("nerdctl", "finch"),
        ("buildah", "buildah"),
    ],
)
def test_family_reads_the_cli_name_whatever_its_path(engine: str, expected: str) -> None:
    assert family(engine) == expected


def command(engine: str, *, buildx: bool = False) -> list[str]:
    return build_command(engine, Path("/ctx"), "localhost/x:1", {"BASE_IMAGE": "base:1"}, buildx=buildx)


def test_docker_buildx_gets_no_attestations_and_loads_the_image() -> None:
    line = command("docker", buildx=True)
    assert line[:3] == ["docker", "buildx", "build"]
    assert set(line) >= ATTESTATION_FLAGS
    assert "--load" in line
    assert line[-3:] == ["--tag", "localhost/x:1", "/ctx"]
    assert line[line.index("--build-arg") + 1] == "BASE_IMAGE=base:1"


def test_docker_without_buildx_gets_no_flag_its_legacy_builder_would_reject() -> None:
    assert command("docker") == [
        "docker",
        "build",
        "--build-arg",
        "BASE_IMAGE=base:1",
        "--tag",
        "localhost/x:1",
        "/ctx",
    ]


def test_podman_writes_a_docker_v2_manifest_and_has_no_attestation_flags() -> None:
    line = command("podman", buildx=True)  # podman never takes the buildx form
    assert line[:4] == ["podman", "build", "--format", "docker"]
    assert not ATTESTATION_FLAGS & set(line)


def test_finch_gets_no_provenance_flag_since_nerdctl_reads_false_as_a_request() -> None:
    line = command("finch")
    assert line[:2] == ["finch", "build"]
    assert not any(part.startswith(("--provenance", "--sbom", "--attest")) for part in line)


def test_buildah_builds_with_vfs_and_chroot_isolation() -> None:
    line = command("buildah")
    assert line[: len(BUILDAH) + 3] == [*BUILDAH, "bud", "--isolation", "chroot"]
    assert not ATTESTATION_FLAGS & set(line)


def test_buildx_is_asked_of_docker_only(path_of: Path) -> None:
    stand_in_cli(path_of, "podman", daemon=True)  # answers every subcommand, `buildx version` included
    assert not has_buildx("podman")


def test_the_flags_are_ones_this_machines_buildx_knows() -> None:
    """Where docker has buildx, its own help must list every flag the command line passes."""
    if shutil.which("docker") is None or not has_buildx("docker"):
        pytest.skip("no docker buildx here")
    help_text = subprocess.run(["docker", "buildx", "build", "--help"], capture_output=True, text=True).stdout
    assert all(flag.split("=")[0] in help_text for flag in [*ATTESTATION_FLAGS, "--load"])


@pytest.mark.parametrize(
    ("manifest", "accepted"),
    [
        ("application/vnd.docker.distribution.manifest.v2+json", True),
        ("application/vnd.oci.image.manifest.v1+json", True),
        *((index, False) for index in INDEX_TYPES),
    ],
)
def test_lambda_accepts_an_image_manifest_and_refuses_an_index(manifest: str, accepted: bool) -> None:
    assert BuiltImage("t", "docker", "b", "1 MB", manifest).lambda_accepts is accepted


def test_deps_is_a_one_line_no_op_when_an_engine_answers(
    path_of: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """No apt and no buildah on PATH: with podman answering there is nothing to install."""
    stand_in_cli(path_of, "podman", daemon=True)
    monkeypatch.setenv(ENGINE_ENV, "podman")
    with caplog.at_level("INFO"):
        install_tools()
    assert [record.getMessage() for record in caplog.records] == [
        "podman answers: it builds the image, nothing to install"
    ]


def test_deps_without_an_engine_or_apt_says_what_to_do_in_one_line(
    path_of: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stand_in_cli(path_of, "docker", daemon=False)
    assert main(["deps"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: no container engine answers `docker info`: install and start Docker")
    assert "CDK_DOCKER=finch|podman" in error
    assert error.count("\n") == 1


def test_deps_for_buildah_ignores_an_answering_engine(
    path_of: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The stand-in base is built with buildah and mmdebstrap whatever else is installed."""
    stand_in_cli(path_of, "docker", daemon=True)
    assert main(["deps", "--buildah"]) == 2
    assert "buildah mmdebstrap missing: install them as root" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("buildah", "expected"),
    [
        (False, "install and start Docker Desktop or Docker (or Finch or Podman: CDK_DOCKER=finch|podman)"),
        (True, "make local-base and the slow tests need buildah and mmdebstrap, which run on Linux only"),
    ],
)
def test_on_macos_apt_is_never_suggested(
    buildah: bool, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENGINE_ENV, raising=False)
    why = cannot_install(["buildah", "mmdebstrap"], buildah=buildah, system="Darwin", can_apt=True)
    assert why is not None
    assert why.endswith(expected)
    assert "apt" not in why


def test_linux_root_with_apt_installs() -> None:
    assert cannot_install(["buildah"], buildah=False, system="Linux", can_apt=True) is None


@pytest.mark.slow
def test_buildah_states_the_manifest_type_of_what_it_built(tmp_path: Path) -> None:
    """A real (tiny) buildah build by the same command line: one OCI image manifest, which Lambda takes."""
    if shutil.which("buildah") is None:
        pytest.skip("buildah is not installed: make image-deps")
    (tmp_path / "x").write_text("x")
    (tmp_path / "Containerfile").write_text("FROM scratch\nCOPY x /x\n")
    tag = f"localhost/manifest-type:{tmp_path.name.lower()}"
    try:
        buildah_build(tmp_path, tag, {})
        manifest = manifest_type(tag, "buildah")
    finally:
        subprocess.run([*BUILDAH, "rmi", tag], capture_output=True, check=False)
    assert manifest == OCI_MANIFEST
