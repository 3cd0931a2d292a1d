"""labs.containers.image (deterministic OCI images) and labs.containers.docker (the engine path)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pandas as pd
import pytest

from labs.bookstore import package_path
from labs.containers import docker, image
from labs.errors import InputError


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def members(layer: image.Layer) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer.data))) as tar:
        return tar.getmembers()


# --------------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------------


def test_tar_layer_is_byte_for_byte_reproducible() -> None:
    files = {"app/b.py": b"b", "app/a.py": b"a", "etc/x/y.conf": b"y"}
    first = image.tar_layer(files, uid=10001, gid=10001)
    second = image.tar_layer(dict(reversed(list(files.items()))), uid=10001, gid=10001)
    assert first.data == second.data
    assert first.digest == second.digest == sha(first.data)
    assert first.diff_id == sha(gzip.decompress(first.data))
    assert first.size == len(first.data) and first.media_type == image.OCI_LAYER
    assert first.data[4:8] == b"\x00\x00\x00\x00"  # gzip header without a timestamp


def test_tar_layer_entries_are_sorted_with_fixed_times_owners_and_modes() -> None:
    layer = image.tar_layer(
        {"app/bookstore/web.py": b"w", "app/bookstore/tests/t.py": b"t"},
        uid=10001,
        gid=10001,
        root_owned=("app",),
    )
    entries = members(layer)
    assert [m.name for m in entries] == [
        "app",
        "app/bookstore",
        "app/bookstore/tests",
        "app/bookstore/tests/t.py",
        "app/bookstore/web.py",
    ]
    stamp = int(image.SOURCE_DATE.timestamp())
    assert {m.mtime for m in entries} == {stamp}
    assert (entries[0].uid, entries[0].gid) == (0, 0)
    assert {(m.uid, m.gid) for m in entries[1:]} == {(10001, 10001)}
    assert {m.uname for m in entries} == {""}
    assert [oct(m.mode) for m in entries if m.isdir()] == ["0o755"] * 3
    assert [oct(m.mode) for m in entries if m.isfile()] == ["0o644"] * 2
    assert layer.files == ("app/bookstore/tests/t.py", "app/bookstore/web.py")


def test_tar_layer_content_changes_change_the_digest() -> None:
    assert image.tar_layer({"a": b"1"}).digest != image.tar_layer({"a": b"2"}).digest
    assert image.tar_layer({"a": b"1"}, uid=1).digest != image.tar_layer({"a": b"1"}).digest


def test_tar_layer_refuses_paths_outside_the_image() -> None:
    with pytest.raises(InputError, match="not a path inside the image"):
        image.tar_layer({"../etc/passwd": b"x"})


# --------------------------------------------------------------------------------------------
# Config from a Dockerfile
# --------------------------------------------------------------------------------------------


def test_config_from_the_bookstore_dockerfile() -> None:
    config = image.config_from_dockerfile((package_path() / "Dockerfile").read_text())
    assert config["User"] == "10001:10001"
    assert config["WorkingDir"] == "/app"
    assert config["ExposedPorts"] == {"8080/tcp": {}}
    assert config["Cmd"][:3] == ["python", "-m", "bookstore"]
    assert "BOOKSTORE_VERSION=v1" in config["Env"]
    assert "PIP_NO_CACHE_DIR=1" not in config["Env"]  # the test stage's, not the runtime's
    health = config["Healthcheck"]
    assert health["Test"][0] == "CMD"
    assert (health["Interval"], health["Timeout"], health["StartPeriod"], health["Retries"]) == (
        30 * 10**9,
        3 * 10**9,
        5 * 10**9,
        3,
    )


def test_config_follows_inheritance_and_the_dockerfile_forms() -> None:
    text = (
        "FROM python:3.11.7-slim AS base\n"
        "ENV A=1 B=2\nLABEL team=shop\nWORKDIR /srv\nCMD python serve.py\n"
        "FROM base\n"
        'ENV B 3 and more\nWORKDIR app\nEXPOSE 8080 53/udp\nENTRYPOINT ["tini", "--"]\n'
        "HEALTHCHECK --interval=1m30s CMD curl -f http://127.0.0.1/ || exit 1\nSTOPSIGNAL SIGINT\n"
    )
    config = image.config_from_dockerfile(text)
    assert config["Env"] == ["A=1", "B=3 and more"]
    assert config["Labels"] == {"team": "shop"}
    assert config["WorkingDir"] == "/srv/app"
    assert config["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
    assert config["Entrypoint"] == ["tini", "--"] and "Cmd" not in config  # reset by ENTRYPOINT
    assert config["Healthcheck"] == {
        "Test": ["CMD-SHELL", "curl -f http://127.0.0.1/ || exit 1"],
        "Interval": 90 * 10**9,
    }
    assert config["StopSignal"] == "SIGINT"
    shell = image.config_from_dockerfile("FROM a:1.0\nCMD python serve.py\nHEALTHCHECK NONE\n")
    assert shell["Cmd"] == ["/bin/sh", "-c", "python serve.py"]
    assert shell["Healthcheck"] == {"Test": ["NONE"]}


def test_config_refuses_a_bad_healthcheck_naming_the_line() -> None:
    with pytest.raises(InputError) as raised:
        image.config_from_dockerfile("FROM a:1.0\nHEALTHCHECK --interval=soon CMD true\n")
    assert raised.value.where == "Dockerfile, line 2"


# --------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------


def test_bookstore_image_digests_are_deterministic() -> None:
    first, second = image.bookstore_image(), image.bookstore_image()
    assert first.digest == second.digest
    assert first.manifest.data == second.manifest.data
    assert first.config.data == second.config.data
    assert first.layers[0].data == second.layers[0].data


def test_the_manifest_names_config_and_layers_by_digest_and_size() -> None:
    built = image.bookstore_image(version="v7", revision="abc123")
    assert built.digest == sha(built.manifest.data)
    manifest = built.manifest_json
    assert manifest["schemaVersion"] == 2 and manifest["mediaType"] == image.OCI_MANIFEST
    assert manifest["config"] == {
        "mediaType": image.OCI_CONFIG,
        "digest": sha(built.config.data),
        "size": len(built.config.data),
    }
    assert manifest["layers"] == [
        {
            "mediaType": image.OCI_LAYER,
            "digest": built.layers[0].digest,
            "size": built.layers[0].size,
        }
    ]
    annotations = manifest["annotations"]
    assert annotations["org.opencontainers.image.base.name"] == (
        "docker.io/library/python:3.11.7-slim"
    )
    assert annotations["org.opencontainers.image.revision"] == "abc123"
    config = built.config_json
    assert config["rootfs"] == {"type": "layers", "diff_ids": [built.layers[0].diff_id]}
    assert (config["os"], config["architecture"]) == ("linux", "amd64")
    assert "BOOKSTORE_VERSION=v7" in config["config"]["Env"]
    assert config["config"]["Labels"]["org.opencontainers.image.version"] == "v7"
    assert config["history"][0]["created_by"].startswith("COPY --from=test")


def test_a_new_version_changes_the_config_and_digest_not_the_layer() -> None:
    v1, v2 = image.bookstore_image(version="v1"), image.bookstore_image(version="v2")
    assert v1.layers[0].digest == v2.layers[0].digest
    assert v1.config.digest != v2.config.digest and v1.digest != v2.digest
    later = image.bookstore_image(version="v1", created=pd.Timestamp("2026-03-01T00:00:00Z"))
    assert later.digest != v1.digest and later.layers[0].digest == v1.layers[0].digest
    reused = image.bookstore_image(version="v1", layer=v1.layers[0])
    assert reused.digest == v1.digest


def test_the_layer_holds_what_the_runtime_stage_copies(tmp_path: Path) -> None:
    source = tmp_path / "bookstore"
    shutil.copytree(package_path(), source, ignore=shutil.ignore_patterns("__pycache__"))
    (source / "__pycache__").mkdir()
    (source / "__pycache__" / "web.cpython-311.pyc").write_bytes(b"\x00")
    (source / ".env").write_text("KEY=secret\n")
    files = image.bookstore_files(source)
    assert "app/bookstore/catalog.py" in files
    assert "app/bookstore/__main__.py" in files
    assert not [p for p in files if "/tests" in p or p.endswith((".pyc", ".env"))]
    assert "app/bookstore/Dockerfile" not in files  # .dockerignore excludes it
    assert files["app/bookstore/catalog.py"] == (source / "catalog.py").read_bytes()
    built = image.bookstore_image(source=source)
    assert built.layers[0].files == tuple(sorted(files))
    assert {(m.uid, m.gid) for m in members(built.layers[0]) if m.name != "app"} == {(10001, 10001)}


def test_the_digest_does_not_depend_on_file_times_or_modes(tmp_path: Path) -> None:
    source = tmp_path / "bookstore"
    shutil.copytree(package_path(), source, ignore=shutil.ignore_patterns("__pycache__"))
    (source / "catalog.py").chmod(0o600)
    (source / "web.py").touch()
    assert image.bookstore_image(source=source).digest == image.bookstore_image().digest


def test_summary_and_oci_layout(tmp_path: Path) -> None:
    built = image.bookstore_image()
    summary = built.summary()
    assert summary["part"].tolist() == ["layer 1", "config", "manifest"]
    assert summary["digest"].tolist() == [built.layers[0].digest, built.config.digest, built.digest]
    root = built.save(tmp_path / "layout", tag="v1")
    assert json.loads((root / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((root / "index.json").read_text())
    entry = index["manifests"][0]
    assert entry["digest"] == built.digest and entry["size"] == built.manifest.size
    assert entry["annotations"] == {"org.opencontainers.image.ref.name": "v1"}
    for blob in [*built.blobs(), built.manifest]:
        stored = (root / "blobs" / "sha256" / blob.digest.split(":")[1]).read_bytes()
        assert sha(stored) == blob.digest


# --------------------------------------------------------------------------------------------
# The Docker engine path, with a fake docker
# --------------------------------------------------------------------------------------------


class FakeDocker:
    """Answers docker commands the way an engine would; records them."""

    def __init__(self, *, info: str = "27.1.1", health: str = "healthy") -> None:
        self.info, self.health, self.commands = info, health, []

    def __call__(self, command: list[str], *, timeout: float = 30.0):
        self.commands.append(command[1:])
        verb = command[1]
        out, code = "", 0
        if verb == "info":
            out, code = self.info, 0 if self.info else 1
        elif verb == "build":
            out = "naming to docker.io/library/bookstore:v1 done"
        elif verb == "run":
            out = "c0ffee\n"
        elif verb == "inspect":
            out = json.dumps({"Running": True, "Health": {"Status": self.health}})
        elif verb == "port":
            out = "127.0.0.1:49153\n"
        return subprocess.CompletedProcess(command, code, out, "")


@pytest.fixture
def fake_docker(monkeypatch: pytest.MonkeyPatch) -> FakeDocker:
    fake = FakeDocker()
    monkeypatch.setattr(docker, "_docker", lambda: "/usr/bin/docker")
    monkeypatch.setattr(docker, "_run", fake)
    return fake


def test_engine_reports_a_missing_client_or_engine(
    monkeypatch: pytest.MonkeyPatch, fake_docker: FakeDocker
) -> None:
    assert docker.engine() == docker.Engine(True, "Docker engine 27.1.1")
    fake_docker.info = ""
    assert not docker.engine().available
    monkeypatch.setattr(docker, "_docker", lambda: None)
    assert docker.engine() == docker.Engine(False, "no docker client on this machine")
    assert not docker.build().ok and not docker.run_health().ok


def test_build_runs_docker_build_on_a_copy_of_the_bookstore(fake_docker: FakeDocker) -> None:
    result = docker.build("bookstore:v1")
    assert result.ok and "naming to" in result.log
    build = fake_docker.commands[0]
    assert build[:3] == ["build", "--tag", "bookstore:v1"]
    assert build[3].endswith("/bookstore")


def test_run_health_waits_for_healthy_probes_and_removes_the_container(
    monkeypatch: pytest.MonkeyPatch, fake_docker: FakeDocker
) -> None:
    monkeypatch.setattr(docker, "_get", lambda url: (200, '{"status": "ok"}'))
    result = docker.run_health("bookstore:v1")
    assert result.ok and result.status == "healthy" and "200" in result.detail
    assert fake_docker.commands[0][:3] == ["run", "--detach", "--publish"]
    assert fake_docker.commands[0][3] == "127.0.0.1::8080"  # this machine only
    assert fake_docker.commands[-1] == ["rm", "--force", "c0ffee"]


def test_run_health_reports_an_unhealthy_container(fake_docker: FakeDocker) -> None:
    fake_docker.health = "unhealthy"
    result = docker.run_health("bookstore:v1")
    assert not result.ok and result.status == "unhealthy"
    assert fake_docker.commands[-1] == ["rm", "--force", "c0ffee"]


def test_remove_image(fake_docker: FakeDocker) -> None:
    assert docker.remove_image("bookstore:v1")
    assert fake_docker.commands[-1] == ["image", "rm", "--force", "bookstore:v1"]
