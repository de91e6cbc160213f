"""Import limits: a zip bomb (CSV archive or xlsx), an archive whose header lies about its
sizes, too many rows — refused with a French message, nothing written; the file is read
before the database's write lock is taken. How quickly is measured by bench/zip_upload.py,
never by a timed test."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile

import pytest

from tests.support.io import export_to

BOMB_BYTES = 60 * 1024 * 1024  # 60 MB of zeros: about 60 KB once compressed


def _bomb_zip(member: str = "mesures.csv", size: int = BOMB_BYTES) -> bytes:
    buffer = io.BytesIO()
    chunk = b"0" * (1024 * 1024)
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open(member, "w", force_zip64=True) as handle,
    ):
        for _ in range(size // len(chunk)):
            handle.write(chunk)
    return buffer.getvalue()


def _lying_zip(declared: int = 1000) -> bytes:
    """A CSV archive whose headers (local and central) say its member is `declared` bytes:
    it is 60 MB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mesures.csv", b"Code indicateur;Date;Valeur\n" + b"0" * BOMB_BYTES)
    data = bytearray(buffer.getvalue())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(signature)
        data[at + offset : at + offset + 4] = struct.pack("<I", declared)
    return bytes(data)


def _digest(database):
    """Row counts and a hash of every table but the credentials (using them stamps them)."""
    from sqlalchemy import select

    from suivi.modelbase import metadata

    digest = hashlib.sha256()
    with database.engine.connect() as connection:
        for table in metadata.sorted_tables:
            if table.name in ("api_token", "auth_session"):
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            for row in connection.execute(select(table).order_by(*order)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def _post(client, headers, content: bytes, name: str, **params):
    files = {"file": (name, content, "application/octet-stream")}
    return client.post("/api/io/import", headers=headers, files=files, params=params)


def test_zip_bomb_is_refused_quickly_and_writes_nothing(api, demo_db):
    client, headers = api
    bomb = _bomb_zip()
    assert len(bomb) < 200 * 1024
    before = _digest(demo_db)
    response = _post(client, headers["admin"], bomb, "mesures.zip", dry_run="true")
    assert response.status_code == 413, response.text
    assert response.json()["detail"] == (
        "Archive trop volumineuse une fois décompressée : 60,0 Mo (limite : 50,0 Mo)."
    )
    response = _post(client, headers["admin"], bomb, "mesures.zip")
    assert response.status_code == 413
    assert _digest(demo_db) == before


def test_xlsx_bomb_is_refused(api, demo_db, tmp_path):
    client, headers = api
    workbook = export_to(demo_db, tmp_path / "portefeuille.xlsx")
    buffer = io.BytesIO(workbook.read_bytes())
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("xl/bombe.xml", b" " * BOMB_BYTES)
    before = _digest(demo_db)
    response = _post(client, headers["admin"], buffer.getvalue(), "portefeuille.xlsx")
    assert response.status_code == 413, response.text
    assert "Archive trop volumineuse une fois décompressée" in response.json()["detail"]
    assert _digest(demo_db) == before


def test_archive_lying_about_its_size_is_refused(api, demo_db):
    client, headers = api
    before = _digest(demo_db)
    response = _post(client, headers["admin"], _lying_zip(), "mesures.zip")
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {"field": "Fichier", "message": "mesures.csv : archive .zip endommagée (contenu illisible)"}
    ]
    assert _digest(demo_db) == before


def _measurements_csv(rows: int) -> bytes:
    lines = ["Code indicateur;Date;Valeur;Commentaire"]
    lines += [f"IND-{index};2025-01-01;1;" for index in range(rows)]
    return "\n".join(lines).encode()


def test_too_many_rows_is_refused(api, demo_db, monkeypatch):
    client, headers = api
    monkeypatch.setattr(client.app.state.settings.io, "max_rows", 5)
    before = _digest(demo_db)
    response = _post(client, headers["admin"], _measurements_csv(6), "mesures.csv")
    assert response.status_code == 413, response.text
    assert response.json()["detail"] == (
        "Fichier trop long : plus de 5 lignes (limite de l'import). "
        "Découpez-le en plusieurs fichiers."
    )
    assert _digest(demo_db) == before
    # At the limit, the rows are read (and here refused for their unknown codes).
    response = _post(client, headers["admin"], _measurements_csv(5), "mesures.csv")
    assert response.status_code == 422


def test_page_refuses_a_zip_bomb(demo_db):
    from suivi.app import create_app
    from tests.support.web_clients import AS_OF
    from tests.support.web_clients import login

    client = login(create_app(demo_db.settings), "chef_de_projet")
    before = _digest(demo_db)
    response = client.post(
        f"/import?as_of={AS_OF}",
        {"essai": "1"},
        htmx=False,
        files={"fichier": ("mesures.zip", _bomb_zip(), "application/zip")},
    )
    assert response.status_code == 413, (response.headers, response.text[:300])
    assert "Archive trop volumineuse une fois décompressée : 60,0 Mo" in response.text
    assert _digest(demo_db) == before


@pytest.mark.parametrize("kind", ["bomb", "folder", "rows"])
def test_cli_refuses_with_exit_code_1(cli, demo_db, tmp_path, monkeypatch, kind):
    if kind == "bomb":
        path = tmp_path / "mesures.zip"
        path.write_bytes(_bomb_zip())
        expected = "Archive trop volumineuse une fois décompressée : 60,0 Mo"
    elif kind == "folder":
        # No header to read the size from: the bytes are counted while reading.
        monkeypatch.setenv("SUIVI_IO_MAX_UNCOMPRESSED_BYTES", str(1024 * 1024))
        path = tmp_path / "csv"
        path.mkdir()
        (path / "mesures.csv").write_bytes(_measurements_csv(100_000))
        expected = "Archive trop volumineuse une fois décompressée : plus de 1,0 Mo"
    else:
        monkeypatch.setenv("SUIVI_IO_MAX_ROWS", "5")
        path = tmp_path / "mesures.csv"
        path.write_bytes(_measurements_csv(6))
        expected = "Fichier trop long : plus de 5 lignes"
    before = _digest(demo_db)
    result = cli("import", str(path), "--dry-run")
    assert result.exit_code == 1, result.output
    assert expected in result.output
    assert _digest(demo_db) == before
