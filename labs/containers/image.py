"""OCI images made in Python: real tar.gz layers, a config and a manifest, byte for byte stable.

A container image is three kinds of content-addressed blobs (OCI image spec,
https://github.com/opencontainers/image-spec):

- **layers**: tar archives of files (here gzip-compressed,
  ``application/vnd.oci.image.layer.v1.tar+gzip``), each named by the sha256 of its bytes;
- a **config** (``application/vnd.oci.image.config.v1+json``): what to run (``Cmd``, ``User``,
  ``Env``, ``WorkingDir``, ``ExposedPorts``…) and ``rootfs.diff_ids``, the sha256 of each
  layer *uncompressed*;
- a **manifest** (``application/vnd.oci.image.manifest.v1+json``) listing the config and the
  layers by digest and size. The sha256 of the manifest's bytes is **the image digest** — what
  ECR shows and what ``image@sha256:…`` pins.

Without a Docker engine, :func:`bookstore_image` makes the layer the bookstore's Dockerfile
adds on top of its base image (the runtime stage's ``COPY --from=test … /app/bookstore``) and
the config its final stage sets. The tar is **reproducible**: entries sorted, fixed times
(:data:`SOURCE_DATE`), fixed owners and modes, gzip without a timestamp — so the same files
always give the same digests, as ``SOURCE_DATE_EPOCH`` builds do. What it does not contain is
the base image's own layers (``python:3.11.7-slim``): the manifest names its base in the
``org.opencontainers.image.base.name`` annotation instead.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import shlex
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from labs.containers.context import context_files
from labs.containers.dockerfile import Dockerfile, Instruction, parse
from labs.errors import InputError

__all__ = [
    "OCI_CONFIG",
    "OCI_LAYER",
    "OCI_MANIFEST",
    "SOURCE_DATE",
    "Blob",
    "Layer",
    "OciImage",
    "bookstore_files",
    "bookstore_image",
    "build_image",
    "config_from_dockerfile",
    "tar_layer",
]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
SOURCE_DATE = pd.Timestamp("2026-01-05T09:00:00Z")
"""The fixed time stamped on every file and in the config (like ``SOURCE_DATE_EPOCH``)."""

BOOKSTORE_UID = 10001
"""The bookstore's user and group id in its Dockerfile (``USER 10001:10001``)."""


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Blob:
    """A content-addressed blob: its bytes and media type; the digest is computed from them."""

    media_type: str
    data: bytes = field(repr=False)

    @property
    def digest(self) -> str:
        """``sha256:<hex>`` of the bytes."""
        return _sha256(self.data)

    @property
    def size(self) -> int:
        """Its size in bytes."""
        return len(self.data)


@dataclass(frozen=True)
class Layer(Blob):
    """A gzip-compressed tar layer.

    Attributes:
        diff_id: sha256 of the *uncompressed* tar (what the config's ``rootfs`` lists).
        files: The paths of the regular files in it.
        created_by: The instruction that made it (the config's ``history``).
    """

    diff_id: str = ""
    files: tuple[str, ...] = ()
    created_by: str = ""


def tar_layer(
    files: Mapping[str, bytes],
    *,
    uid: int = 0,
    gid: int = 0,
    root_owned: Iterable[str] = (),
    mtime: pd.Timestamp = SOURCE_DATE,
    created_by: str = "",
) -> Layer:
    """Pack ``files`` (path in the image → content) into a reproducible tar.gz layer.

    Every parent directory gets an entry of its own (mode 0755); files get mode 0644. Entries
    are sorted, owners fixed (``uid``/``gid``, names empty), times all ``mtime``, and the
    gzip header carries no time or name: the same files always give the same bytes.

    Args:
        files: ``{"app/bookstore/catalog.py": b"..."}``; paths relative to ``/``.
        uid: Owner of every entry (``COPY --chown=10001:10001``).
        gid: Group of every entry.
        root_owned: Directories owned by root instead (``app``, made by ``WORKDIR /app``).
        mtime: The modification time of every entry.
        created_by: The instruction recorded in the image's history.
    """
    clean: dict[str, bytes] = {}
    for path, data in files.items():
        name = str(path).replace("\\", "/").strip("/")
        if not name or ".." in name.split("/"):
            raise InputError(f"{path!r} is not a path inside the image.", where="files")
        clean[name] = bytes(data)
    directories = {
        "/".join(parts[:i]) for parts in (n.split("/") for n in clean) for i in range(1, len(parts))
    }
    root_dirs = {d.strip("/") for d in root_owned}
    stamp = int(pd.Timestamp(mtime).timestamp())
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(directories | set(clean)):
            info = tarfile.TarInfo(name)
            info.mtime = stamp
            info.uid, info.gid = (0, 0) if name in root_dirs else (uid, gid)
            info.uname = info.gname = ""
            if name in directories:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.mode, info.size = 0o644, len(clean[name])
                tar.addfile(info, io.BytesIO(clean[name]))
    uncompressed = raw.getvalue()
    compressed = gzip.compress(uncompressed, compresslevel=9, mtime=0)
    return Layer(
        OCI_LAYER,
        compressed,
        diff_id=_sha256(uncompressed),
        files=tuple(sorted(clean)),
        created_by=created_by,
    )


# ------------------------------------------------------------------------------------------
# The config a Dockerfile's final stage sets
# ------------------------------------------------------------------------------------------

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_NS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9}
_UNIT_NS["h"] = 3600 * 10**9


def _duration_ns(text: str, where: str) -> int:
    """Go duration (``30s``, ``1m30s``) → nanoseconds, as Docker stores HEALTHCHECK times."""
    parts = _DURATION.findall(text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise InputError(f"{text!r} is not a duration.", where=where, hint="Write e.g. 30s or 1m.")
    return int(sum(float(a) * _UNIT_NS[b] for a, b in parts))


def _pairs(body: str, where: str) -> list[tuple[str, str]]:
    try:
        words = shlex.split(body, posix=True)
    except ValueError as exc:
        raise InputError(f"Cannot read {body!r}: {exc}.", where=where) from None
    if words and "=" not in words[0]:  # legacy form: ENV KEY value with spaces
        return [(words[0], " ".join(words[1:]))]
    return [tuple(w.split("=", 1)) if "=" in w else (w, "") for w in words]  # type: ignore[misc]


def _command(body: str, where: str) -> list[str]:
    if body.lstrip().startswith("["):
        try:
            value = json.loads(body)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    return ["/bin/sh", "-c", body]


def _apply(config: dict[str, Any], ins: Instruction, where: str) -> None:
    body = ins.body
    if ins.keyword == "ENV":
        env = dict(e.split("=", 1) for e in config.get("Env", []))
        env.update(_pairs(body, where))
        config["Env"] = [f"{k}={v}" for k, v in env.items()]
    elif ins.keyword == "LABEL":
        config.setdefault("Labels", {}).update(_pairs(body, where))
    elif ins.keyword == "USER":
        config["User"] = body.strip()
    elif ins.keyword == "WORKDIR":
        path = body.strip()
        base = config.get("WorkingDir", "/")
        config["WorkingDir"] = path if path.startswith("/") else f"{base.rstrip('/')}/{path}"
    elif ins.keyword == "EXPOSE":
        ports = config.setdefault("ExposedPorts", {})
        for port in body.split():
            ports[port if "/" in port else f"{port}/tcp"] = {}
    elif ins.keyword in ("CMD", "ENTRYPOINT"):
        config["Cmd" if ins.keyword == "CMD" else "Entrypoint"] = _command(body, where)
        if ins.keyword == "ENTRYPOINT":
            config.pop("Cmd", None)  # ENTRYPOINT resets an inherited CMD
    elif ins.keyword == "STOPSIGNAL":
        config["StopSignal"] = body.strip()
    elif ins.keyword == "HEALTHCHECK":
        if body.strip().upper() == "NONE":
            config["Healthcheck"] = {"Test": ["NONE"]}
            return
        kind, _, command = body.strip().partition(" ")
        if kind.upper() != "CMD":
            raise InputError("HEALTHCHECK needs CMD <command> or NONE.", where=where)
        test = _command(command, where)
        check: dict[str, Any] = {
            "Test": ["CMD", *test] if test[:2] != ["/bin/sh", "-c"] else ["CMD-SHELL", command]
        }
        names = {
            "interval": "Interval",
            "timeout": "Timeout",
            "start-period": "StartPeriod",
            "start-interval": "StartInterval",
        }
        for flag, value in ins.flags.items():
            if flag in names:
                check[names[flag]] = _duration_ns(value, where)
            elif flag == "retries":
                check["Retries"] = int(value)
        config["Healthcheck"] = check


def config_from_dockerfile(source: str | Dockerfile, *, name: str = "Dockerfile") -> dict[str, Any]:
    """Return the image config (``User``, ``Env``, ``Cmd``…) the final stage sets.

    Reads the final stage and the stages it builds on (``FROM build``), in order, as Docker
    would; what the base image itself sets (its ``PATH``, ``PYTHON_VERSION``…) is not known
    here and is not included.

    Args:
        source: The Dockerfile's text, or a parsed :class:`~labs.containers.dockerfile.Dockerfile`.
        name: What to call it in error messages.
    """
    parsed = parse(source, name=name) if isinstance(source, str) else source
    config: dict[str, Any] = {}
    for stage in reversed(parsed.lineage()):
        for ins in stage.instructions:
            _apply(config, ins, f"{name}, line {ins.line}")
    return config


# ------------------------------------------------------------------------------------------
# Images
# ------------------------------------------------------------------------------------------


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _iso(stamp: pd.Timestamp) -> str:
    return pd.Timestamp(stamp).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class OciImage:
    """An OCI image: layers, config and manifest, as the exact bytes a registry stores.

    Attributes:
        layers: Its layers, bottom first.
        config: The config blob.
        manifest: The manifest blob; its digest is the image digest.
    """

    layers: tuple[Layer, ...]
    config: Blob
    manifest: Blob

    @property
    def digest(self) -> str:
        """The image digest: sha256 of the manifest's bytes."""
        return self.manifest.digest

    @property
    def manifest_json(self) -> dict[str, Any]:
        """The manifest, parsed."""
        return json.loads(self.manifest.data)

    @property
    def config_json(self) -> dict[str, Any]:
        """The config, parsed."""
        return json.loads(self.config.data)

    def blobs(self) -> list[Blob]:
        """Every blob a registry needs before the manifest: the layers, then the config."""
        return [*self.layers, self.config]

    def summary(self) -> pd.DataFrame:
        """One row per blob and the manifest: what, media type, digest, size."""
        rows = [
            {"part": f"layer {i + 1}", "media_type": b.media_type, "digest": b.digest}
            | {"bytes": b.size}
            for i, b in enumerate(self.layers)
        ]
        rows.append(
            {"part": "config", "media_type": self.config.media_type}
            | {"digest": self.config.digest, "bytes": self.config.size}
        )
        rows.append(
            {"part": "manifest", "media_type": self.manifest.media_type}
            | {"digest": self.manifest.digest, "bytes": self.manifest.size}
        )
        return pd.DataFrame(rows)

    def save(self, folder: str | Path, *, tag: str | None = None) -> Path:
        """Write the image as an OCI image layout (``oci-layout``, ``index.json``, ``blobs/``).

        Tools such as ``skopeo``, ``crane`` or ``oras`` read this layout, e.g.
        ``skopeo copy oci:<folder>:<tag> docker://<registry>/<repo>:<tag>``.
        """
        root = Path(folder)
        blobs = root / "blobs" / "sha256"
        blobs.mkdir(parents=True, exist_ok=True)
        for blob in [*self.blobs(), self.manifest]:
            (blobs / blob.digest.split(":", 1)[1]).write_bytes(blob.data)
        (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        entry: dict[str, Any] = {
            "mediaType": OCI_MANIFEST,
            "digest": self.digest,
            "size": self.manifest.size,
        }
        if tag:
            entry["annotations"] = {"org.opencontainers.image.ref.name": tag}
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json"}
        index["manifests"] = [entry]  # type: ignore[assignment]
        (root / "index.json").write_text(json.dumps(index, indent=2))
        return root


def build_image(
    layers: Iterable[Layer],
    config: Mapping[str, Any],
    *,
    annotations: Mapping[str, str] | None = None,
    created: pd.Timestamp = SOURCE_DATE,
    architecture: str = "amd64",
    os: str = "linux",
) -> OciImage:
    """Assemble an OCI image from layers and a runtime config.

    Args:
        layers: The layers, bottom first.
        config: The runtime config (``config_from_dockerfile``'s result).
        annotations: Manifest annotations (``org.opencontainers.image.*``).
        created: The creation time recorded in the config.
        architecture: The CPU architecture the image is for.
        os: The operating system the image is for.
    """
    layers = tuple(layers)
    when = _iso(created)
    config_doc = {
        "created": when,
        "architecture": architecture,
        "os": os,
        "config": dict(config),
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created": when, "created_by": layer.created_by} for layer in layers],
    }
    config_blob = Blob(OCI_CONFIG, _json_bytes(config_doc))
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": OCI_CONFIG,
            "digest": config_blob.digest,
            "size": config_blob.size,
        },
        "layers": [
            {"mediaType": layer.media_type, "digest": layer.digest, "size": layer.size}
            for layer in layers
        ],
    }
    if annotations:
        manifest["annotations"] = dict(annotations)
    return OciImage(layers, config_blob, Blob(OCI_MANIFEST, _json_bytes(manifest)))


def _normalize_base(image: str) -> str:
    """``python:3.11.7-slim`` → ``docker.io/library/python:3.11.7-slim`` (a full reference)."""
    first = image.split("/", 1)[0]
    if "/" not in image:
        return f"docker.io/library/{image}"
    if "." not in first and ":" not in first and first != "localhost":
        return f"docker.io/{image}"
    return image


def bookstore_files(source: str | Path | None = None) -> dict[str, bytes]:
    """The files the bookstore's runtime stage copies: the build context minus tests.

    The build context is the bookstore folder after its ``.dockerignore``; the Dockerfile's
    test stage copies it, runs the tests and removes ``tests/`` before the runtime stage copies
    the rest to ``/app/bookstore``.

    Args:
        source: The bookstore folder; default the package's own (``labs.bookstore``).

    Returns:
        ``{"app/bookstore/<file>": content}``.
    """
    from labs.bookstore import package_path

    folder = Path(source) if source is not None else package_path()
    ignore = folder / ".dockerignore"
    listing = context_files(folder, ignore.read_text() if ignore.exists() else None)
    files: dict[str, bytes] = {}
    for path in listing.loc[listing["sent"], "path"]:
        if path.startswith("tests/"):
            continue
        try:
            files[f"app/bookstore/{path}"] = (folder / path).read_bytes()
        except FileNotFoundError:  # a temporary file, gone since the folder was listed
            continue
    return files


def bookstore_image(
    *,
    version: str = "v1",
    revision: str | None = None,
    created: pd.Timestamp = SOURCE_DATE,
    source: str | Path | None = None,
    layer: Layer | None = None,
) -> OciImage:
    """Build the bookstore's image without Docker: its app layer and its runtime config.

    The layer holds what the Dockerfile's runtime stage copies (:func:`bookstore_files`),
    owned by 10001:10001 as ``COPY --chown`` makes it; the config is what the final stage
    sets (:func:`config_from_dockerfile`), with ``BOOKSTORE_VERSION`` set to ``version`` and the
    OCI labels for version and revision. The manifest names the base image in the
    ``org.opencontainers.image.base.name`` annotation.

    Args:
        version: The bookstore version baked into ``BOOKSTORE_VERSION``.
        revision: The source revision (a git commit id) recorded in the labels.
        created: The creation time (fixed by default, so digests are reproducible).
        source: The bookstore folder; default the package's own.
        layer: A layer made earlier from the same files (``image.layers[0]``), to reuse it.
    """
    from labs.bookstore import package_path

    folder = Path(source) if source is not None else package_path()
    dockerfile = parse((folder / "Dockerfile").read_text())
    layer = layer or tar_layer(
        bookstore_files(folder),
        uid=BOOKSTORE_UID,
        gid=BOOKSTORE_UID,
        root_owned=("app",),
        created_by=f"COPY --from=test --chown={BOOKSTORE_UID}:{BOOKSTORE_UID} "
        "/dist/bookstore /app/bookstore",
    )
    config = config_from_dockerfile(dockerfile)
    env = dict(e.split("=", 1) for e in config.get("Env", []))
    env["BOOKSTORE_VERSION"] = version
    config["Env"] = [f"{k}={v}" for k, v in env.items()]
    labels = {"org.opencontainers.image.title": "bookstore"}
    labels["org.opencontainers.image.version"] = version
    if revision:
        labels["org.opencontainers.image.revision"] = revision
    config["Labels"] = {**config.get("Labels", {}), **labels}
    annotations = {**labels, "org.opencontainers.image.created": _iso(created)}
    base = dockerfile.lineage()[-1]
    if base.external:
        annotations["org.opencontainers.image.base.name"] = _normalize_base(base.image)
    return build_image([layer], config, annotations=annotations, created=created)
