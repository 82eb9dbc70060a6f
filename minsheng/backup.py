"""Backup and restore of the database: one archive with a manifest, checked before and after.

An archive is a gzip'd tar of two members, ``manifest.json`` first and then the database:

* SQLite: ``database.sqlite3``, a consistent copy taken with SQLite's online backup API while the
  servers keep writing (readers never block in WAL mode, so nobody waits for the backup);
* PostgreSQL: ``database.pgdump``, ``pg_dump -Fc`` (one snapshot of the whole database).

The manifest records the archive format, the minsheng version, the database vendor, every applied
migration, the audit chain's head (sequence and hash) when the backup started, the vault key ids
the data was encrypted under (ids only, never a key), the time, and the size and SHA-256 of the
database member. ``restore`` checks all of it before it touches anything: a damaged or cut archive
fails the checksum, an archive of the other vendor or of a newer minsheng (migrations this code
does not know) is refused, and so is one whose vault keys are not configured here (its phone
numbers could never be read). After restoring it walks the whole audit chain and requires the
manifest's head in it.

The vault keys are deliberately *not* in the archive (docs/reliability.md): the archive holds the
database, and the keys are what keep a stolen copy of the database from revealing any citizen.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from django.db import connection, connections
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from minsheng.errors import ServiceError

FORMAT = 1
MANIFEST = "manifest.json"
MEMBERS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
CHUNK = 1024 * 1024

Progress = Callable[[str], None]


class BackupError(ServiceError):
    """The backup or the restore cannot go on; the message says why and what to do."""

    code = "backup_error"


def _quiet(_message: str) -> None:
    return None


# --- the manifest --------------------------------------------------------------------------------
@dataclass
class Manifest:
    vendor: str
    migrations: list[str]
    audit_seq: int
    audit_hash: str
    vault_key_ids: list[str]
    member: str = ""
    sha256: str = ""
    size: int = 0
    created_at: str = ""
    minsheng_version: str = ""
    format: int = FORMAT
    database_name: str = ""
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BackupError(f"the archive's manifest is not valid JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise BackupError("the archive's manifest is not a JSON object")
        if data.get("format") != FORMAT:
            raise BackupError(
                f"archive format {data.get('format')!r}: this minsheng reads format {FORMAT}"
            )
        names = set(cls.__dataclass_fields__)
        missing = sorted(n for n in names if n not in data and n != "notes")
        if missing:
            raise BackupError(f"the archive's manifest lacks {', '.join(missing)}")
        return cls(**{k: v for k, v in data.items() if k in names})


def _version() -> str:
    try:
        return metadata.version("minsheng")
    except metadata.PackageNotFoundError:
        return "unknown"


def _vault_key_ids() -> list[str]:
    from vault.crypto import keyring

    return [key.key_id for key in keyring()]


def _known_migrations() -> set[str]:
    loader = MigrationLoader(None, ignore_no_migrations=True, load=True)
    return {f"{app}.{name}" for app, name in loader.disk_migrations}


# --- checksums and the tar -----------------------------------------------------------------------
def _sha256_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _write_archive(out: Path, manifest: Manifest, database: Path) -> None:
    """Write to ``out.part`` and rename: a crash leaves no half archive under the real name."""
    part = out.with_name(out.name + ".part")
    with tarfile.open(part, "w:gz") as tar:
        raw = manifest.to_json()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(raw)
        info.mtime = int(timezone.now().timestamp())
        tar.addfile(info, io.BytesIO(raw))
        tar.add(database, arcname=manifest.member, recursive=False)
    with part.open("rb") as fh:
        os.fsync(fh.fileno())
    part.replace(out)


@contextlib.contextmanager
def _opened(archive: Path) -> Iterator[tuple[Manifest, Path]]:
    """The manifest and the database member extracted to a temporary folder, checksum verified."""
    if not archive.is_file():
        raise BackupError(f"{archive}: no such file")
    with tempfile.TemporaryDirectory(prefix="minsheng-restore-") as tmp:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                names = tar.getnames()
                if not names or names[0] != MANIFEST:
                    raise BackupError(f"{archive}: not a minsheng backup (no manifest first)")
                fh = tar.extractfile(MANIFEST)
                assert fh is not None
                manifest = Manifest.from_json(fh.read())
                if manifest.member not in MEMBERS.values() or manifest.member not in names:
                    raise BackupError(
                        f"{archive}: the database member {manifest.member!r} is missing"
                    )
                target = Path(tmp) / manifest.member
                source = tar.extractfile(manifest.member)
                if source is None:
                    raise BackupError(f"{archive}: {manifest.member} is not a regular file")
                with target.open("wb") as out:
                    shutil.copyfileobj(source, out, CHUNK)
        except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise BackupError(f"{archive}: damaged or cut short ({exc})") from exc
        digest, size = _sha256_file(target)
        if (digest, size) != (manifest.sha256, manifest.size):
            raise BackupError(
                f"{archive}: the database copy does not match its checksum "
                f"({size} bytes, sha256 {digest[:16]}…; the manifest says {manifest.size} bytes, "
                f"{manifest.sha256[:16]}…): the archive is damaged, use another one"
            )
        yield manifest, target


def inspect(archive: Path) -> Manifest:
    """Read and check an archive without restoring it."""
    with _opened(archive) as (manifest, _path):
        return manifest


# --- PostgreSQL connection for the client programs -----------------------------------------------
def _pg_env_and_target() -> tuple[dict[str, str], list[str]]:
    db: dict[str, Any] = dict(connection.settings_dict)
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    args = ["-d", str(db["NAME"])]
    for flag, key in (("-h", "HOST"), ("-p", "PORT"), ("-U", "USER")):
        if db.get(key):
            args += [flag, str(db[key])]
    return env, args


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed: PostgreSQL backups need the PostgreSQL client programs "
            f"(Debian: apt-get install postgresql-client-15, the server's major version or newer)"
        )
    return path


def _run(args: list[str], env: dict[str, str], what: str, stdin: Any = None) -> None:
    done = subprocess.run(args, env=env, stdin=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{what} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


# --- state of the live database -------------------------------------------------------------------
def _applied_migrations() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        return [f"{app}.{name}" for app, name in cursor.fetchall()]


def _audit_head() -> tuple[int, str]:
    from audit.services import head

    return head()


# --- backup ------------------------------------------------------------------------------------
def backup(out: Path, progress: Progress = _quiet) -> Manifest:
    """Write an archive of the database to ``out`` (any existing file is replaced at the end)."""
    vendor = connection.vendor
    if vendor not in MEMBERS:
        raise BackupError(f"backups of {vendor} databases are not supported")
    out = out.resolve()
    if not out.parent.is_dir():
        raise BackupError(f"{out.parent}: no such folder")
    # Read before the copy: entries are only ever appended, so the copy holds at least this head.
    seq, digest = _audit_head()
    manifest = Manifest(
        vendor=vendor,
        migrations=_applied_migrations(),
        audit_seq=seq,
        audit_hash=digest,
        vault_key_ids=_vault_key_ids(),
        member=MEMBERS[vendor],
        created_at=timezone.now().isoformat(timespec="seconds"),
        minsheng_version=_version(),
        database_name=str(connection.settings_dict["NAME"]).rsplit("/", 1)[-1],
    )
    progress(f"audit chain head: seq {seq}, {digest[:16]}…")
    with tempfile.TemporaryDirectory(prefix="minsheng-backup-", dir=out.parent) as tmp:
        copy = Path(tmp) / manifest.member
        if vendor == "sqlite":
            _sqlite_copy(copy, progress)
        else:
            env, target = _pg_env_and_target()
            progress("pg_dump -Fc …")
            _run(
                [
                    _pg_tool("pg_dump"),
                    "-Fc",
                    "--no-owner",
                    "--no-privileges",
                    "-f",
                    str(copy),
                    *target,
                ],
                env,
                "pg_dump",
            )
        manifest.sha256, manifest.size = _sha256_file(copy)
        progress(f"database copy: {manifest.size:,} bytes, sha256 {manifest.sha256[:16]}…")
        _write_archive(out, manifest, copy)
    progress(f"archive written: {out}")
    return manifest


def _sqlite_copy(target: Path, progress: Progress) -> None:
    """Copy the live database through Django's own connection with SQLite's backup API."""
    connection.ensure_connection()
    live: Any = connection.connection
    dst = sqlite3.connect(target)
    try:
        total = live.execute("PRAGMA page_count").fetchone()[0]
        progress(f"SQLite online backup of {total:,} pages …")
        # One step (pages=-1): one read transaction over the whole copy, so the copy is a single
        # consistent moment even while servers write (WAL lets them), and it never restarts.
        live.backup(dst, pages=-1)
        check = dst.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"the SQLite copy failed its check: {check}")
        # A self-contained file: no -wal beside it to forget.
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()


# --- restore -----------------------------------------------------------------------------------
@dataclass
class Restored:
    manifest: Manifest
    audit_entries: int
    audit_ok: bool
    audit_summary: str
    behind: list[str]


def check_compatible(manifest: Manifest) -> list[str]:
    """Refuse an archive this installation cannot take; the migrations it lacks otherwise."""
    if manifest.vendor != connection.vendor:
        raise BackupError(
            f"the archive holds a {manifest.vendor} database and this installation uses "
            f"{connection.vendor}: restore it where DATABASE_URL points to {manifest.vendor}"
        )
    known = _known_migrations()
    unknown = sorted(set(manifest.migrations) - known)
    if unknown:
        raise BackupError(
            f"the archive was made by a newer minsheng ({manifest.minsheng_version}): "
            f"{len(unknown)} migrations unknown here, e.g. {', '.join(unknown[:3])}. "
            "Install that version (or newer) first"
        )
    missing_keys = sorted(set(manifest.vault_key_ids) - set(_vault_key_ids()))
    if missing_keys:
        raise BackupError(
            "the archive's phone and ID numbers are encrypted under vault keys that are not "
            f"configured here (key ids {', '.join(missing_keys)}): restore the key file from its "
            "own backup first (MINSHENG_VAULT_KEYS or vault.key, docs/reliability.md)"
        )
    return sorted(known - set(manifest.migrations))


def restore(archive: Path, progress: Progress = _quiet) -> Restored:
    """Replace the database with the archive's, then verify the audit chain.

    Precondition: no server or worker is using the database (stop them first).
    """
    with _opened(archive) as (manifest, copy):
        progress(
            f"archive of {manifest.created_at}: {manifest.vendor}, minsheng "
            f"{manifest.minsheng_version}, {len(manifest.migrations)} migrations, audit head "
            f"seq {manifest.audit_seq}; checksum ok"
        )
        behind = check_compatible(manifest)
        if manifest.vendor == "sqlite":
            _sqlite_restore(copy, progress)
        else:
            _pg_restore(copy, progress)
            connections.close_all()
    from audit.verify import verify_chain

    progress("verifying the audit chain …")
    anchor = manifest.audit_hash if manifest.audit_seq else None
    result = verify_chain(anchor=anchor)
    return Restored(manifest, result.count, result.ok, result.summary(), behind)


def _sqlite_restore(copy: Path, progress: Progress) -> None:
    """Copy the archive's pages over the live database, through Django's connection."""
    src = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        check = src.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"the archive's SQLite file is damaged: {check}")
        connection.ensure_connection()
        live: Any = connection.connection
        progress(f"restoring {src.execute('PRAGMA page_count').fetchone()[0]:,} pages …")
        # The backup API writes the destination under its own lock, all or nothing.
        src.backup(live, pages=-1)
        live.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        src.close()


def _pg_restore(copy: Path, progress: Progress) -> None:
    env, target = _pg_env_and_target()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
        )
        tables = [row[0] for row in cursor.fetchall()]
    connections.close_all()
    with tempfile.TemporaryDirectory(prefix="minsheng-restore-sql-") as tmp:
        script = Path(tmp) / "restore.sql"
        progress("pg_restore: reading the dump …")
        with script.open("w", encoding="utf-8") as fh:
            # Tables the archive may not have (made by later migrations) go too: the database
            # must be the archive's, not a mixture.
            for table in tables:
                quoted = '"' + table.replace('"', '""') + '"'
                fh.write(f"DROP TABLE IF EXISTS {quoted} CASCADE;\n")
            fh.flush()
            done = subprocess.run(
                [
                    _pg_tool("pg_restore"),
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--no-privileges",
                    "-f",
                    "-",
                    str(copy),
                ],
                env=env,
                stdout=fh,
                stderr=subprocess.PIPE,
                text=True,
                check=False,
            )
        if done.returncode != 0:
            raise BackupError(f"pg_restore could not read the dump: {done.stderr.strip()[-2000:]}")
        progress(f"replacing {len(tables)} tables in one transaction …")
        _run(
            [
                _pg_tool("psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "--single-transaction",
                "-f",
                str(script),
                *target,
            ],
            env,
            "psql (restore)",
        )


def default_name(now: dt.datetime | None = None) -> str:
    stamp = timezone.localtime(now or timezone.now()).strftime("%Y%m%d-%H%M%S")
    return f"minsheng-{connection.vendor}-{stamp}.tar.gz"
