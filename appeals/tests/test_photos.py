"""Photos: JPEG/PNG/WebP only, size and count limits, EXIF/GPS removed, API rights."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from appeals import photos
from appeals.models import AppealEvent, AppealPhoto
from audit.models import AuditEntry
from minsheng.errors import ServiceError


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def jpeg_with_gps(size: tuple[int, int] = (64, 48)) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 50.0)}  # GPS IFD
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def upload(data: bytes, name: str = "p.jpg", content_type: str = "image/jpeg") -> Any:
    return SimpleUploadedFile(name, data, content_type=content_type)


def test_a_jpeg_is_stored_without_its_exif_and_gps(appeal, citizen):
    raw = jpeg_with_gps()
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(0x8825)  # the test photo has a position
    photo = photos.attach(appeal, upload(raw), citizen)
    stored = photo.image.open("rb").read()
    assert b"Exif" not in stored and b"PhoneMaker" not in stored
    reopened = Image.open(io.BytesIO(stored))
    assert reopened.format == "JPEG" and not reopened.getexif()
    assert (photo.width, photo.height, photo.content_type) == (64, 48, "image/jpeg")
    assert photo.size == len(stored)
    assert AppealEvent.objects.filter(appeal=appeal, action="photo").count() == 1
    assert AuditEntry.objects.filter(action="appeals.photo", object_id=str(appeal.pk)).exists()


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_are_accepted_in_their_own_format(appeal, fmt):
    out = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 255, 128)).save(out, format=fmt)
    photo = photos.attach(appeal, upload(out.getvalue(), f"p.{fmt.lower()}"), None)
    assert Image.open(photo.image.open("rb")).format == fmt


def test_a_file_that_is_not_an_image_is_refused_naming_the_photos_field(appeal):
    with pytest.raises(ServiceError) as bad:
        photos.attach(appeal, upload(b"%PDF-1.4 not a photo", "p.jpg"), None)
    assert bad.value.status == 422
    assert bad.value.detail[0]["field"] == "photos"
    assert "图片" in str(bad.value.message)
    assert not AppealPhoto.objects.exists()


def test_a_gif_is_refused_even_though_it_is_an_image(appeal):
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="GIF")
    with pytest.raises(ServiceError) as bad:
        photos.attach(appeal, upload(out.getvalue(), "p.gif"), None)
    assert "JPEG" in str(bad.value.message)


def test_a_photo_over_the_size_limit_is_refused(appeal, settings):
    settings.APPEAL_PHOTO_MAX_BYTES = 500
    with pytest.raises(ServiceError) as big:
        photos.attach(appeal, upload(jpeg_with_gps((300, 300))), None)
    assert big.value.status == 422 and "太大" in str(big.value.message)


def test_no_more_than_the_configured_number_of_photos(appeal, settings):
    settings.APPEAL_PHOTOS_MAX = 2
    photos.attach(appeal, upload(jpeg_with_gps()), None)
    photos.attach(appeal, upload(jpeg_with_gps()), None)
    with pytest.raises(ServiceError) as many:
        photos.attach(appeal, upload(jpeg_with_gps()), None)
    assert "至多 2 张" in str(many.value.message)
    assert appeal.photos.count() == 2


def test_the_citizen_uploads_photos_with_the_secret_and_a_stranger_cannot(submit, client):
    appeal, secret = submit()
    url = f"/api/appeals/{appeal.pk}/photos"
    refused = client.post(url, {"secret": "WRONGWRONG", "photos": upload(jpeg_with_gps())})
    assert refused.status_code == 404
    ok = client.post(
        url, {"secret": secret, "photos": [upload(jpeg_with_gps()), upload(jpeg_with_gps())]}
    )
    assert ok.status_code == 201, ok.content
    body = ok.json()
    assert body["count"] == 2
    first = body["photos"][0]["id"]
    seen = client.get(f"{url}/{first}", {"secret": secret})
    assert seen.status_code == 200 and seen["Content-Type"] == "image/jpeg"
    assert client.get(f"{url}/{first}").status_code == 404


def test_one_bad_file_in_an_upload_stores_none(submit, client):
    appeal, secret = submit()
    response = client.post(
        f"/api/appeals/{appeal.pk}/photos",
        {"secret": secret, "photos": [upload(jpeg_with_gps()), upload(b"hello", "x.jpg")]},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "photos"
    assert appeal.photos.count() == 0


def test_the_intake_agent_adds_photos_but_a_handler_elsewhere_cannot(
    appeal, dispatcher, other_handler, client_for
):
    url = f"/api/appeals/{appeal.pk}/photos"
    assert (
        client_for(other_handler).post(url, {"photos": upload(jpeg_with_gps())}).status_code == 404
    )
    assert client_for(dispatcher).post(url, {"photos": upload(jpeg_with_gps())}).status_code == 201
