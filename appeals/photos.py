"""Photos of an appeal: checked with Pillow, re-encoded so no EXIF or GPS position is kept.

A citizen's phone writes where and when a photo was taken into it; the platform only needs the
picture. ``attach`` therefore decodes every upload and saves a fresh encoding of the pixels.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from appeals.models import Appeal, AppealEvent, AppealPhoto
from audit.services import record
from minsheng.errors import ServiceError

# Pillow format → (content type, file extension, save options).
FORMATS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "JPEG": ("image/jpeg", "jpg", {"quality": 88, "optimize": True}),
    "PNG": ("image/png", "png", {"optimize": True}),
    "WEBP": ("image/webp", "webp", {"quality": 88}),
}
# A decompression bomb (a tiny file that expands to gigapixels) is refused, not decoded.
MAX_PIXELS = 40_000_000


def max_bytes() -> int:
    return int(getattr(settings, "APPEAL_PHOTO_MAX_BYTES", 5 * 1024 * 1024))


def max_photos() -> int:
    return int(getattr(settings, "APPEAL_PHOTOS_MAX", 6))


def _bad(message: str | Promise) -> ServiceError:
    return ServiceError(
        _("照片有误：%(message)s") % {"message": message},
        code="validation_error",
        status=422,
        detail=[{"field": "photos", "message": str(message)}],
    )


def _decode(data: bytes) -> tuple[Image.Image, str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            fmt = probe.format or ""
            if fmt not in FORMATS:
                raise _bad(_("只接受 JPEG、PNG 或 WebP 格式的图片"))
            if probe.width * probe.height > MAX_PIXELS:
                raise _bad(_("图片像素太多（至多 4000 万像素）"))
            probe.verify()  # checks the file's structure; the image must be reopened afterwards
            image = Image.open(io.BytesIO(data))
            image.load()
    except ServiceError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise _bad(_("文件不是可以识别的图片")) from None
    except Image.DecompressionBombWarning:
        raise _bad(_("图片像素太多（至多 4000 万像素）")) from None
    return image, fmt


def too_many(have: int, adding: int) -> ServiceError:
    return _bad(
        _("每件诉求至多 %(max)s 张照片（已有 %(have)s 张，本次 %(adding)s 张）")
        % {"max": max_photos(), "have": have, "adding": adding}
    )


def clean_image(data: bytes) -> tuple[bytes, str, str, int, int]:
    """The re-encoded bytes, content type, extension, width and height; 422 on anything else."""
    limit = max_bytes()
    if len(data) > limit:
        raise _bad(
            _("照片太大（%(size).1f MB，至多 %(max).1f MB）")
            % {"size": len(data) / 1048576, "max": limit / 1048576}
        )
    if not data:
        raise _bad(_("文件是空的"))
    image, fmt = _decode(data)
    # Apply the EXIF orientation to the pixels before the EXIF block is dropped.
    image = ImageOps.exif_transpose(image) or image
    content_type, ext, options = FORMATS[fmt]
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    if fmt == "WEBP" and image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.mode else "RGB")
    # A new image built from the raw pixels only: no EXIF, XMP, comments or text chunks survive.
    clean = Image.frombytes(image.mode, image.size, image.tobytes())
    if image.mode == "P":
        clean.putpalette(image.getpalette() or [])
        if "transparency" in image.info:
            options = {**options, "transparency": image.info["transparency"]}
    out = io.BytesIO()
    clean.save(out, format=fmt, **options)
    return out.getvalue(), content_type, ext, clean.width, clean.height


def read_upload(uploaded_file: Any) -> bytes:
    limit = max_bytes()
    size = getattr(uploaded_file, "size", None)
    if size is not None and size > limit:
        raise _bad(
            _("照片太大（%(size).1f MB，至多 %(max).1f MB）")
            % {"size": size / 1048576, "max": limit / 1048576}
        )
    if hasattr(uploaded_file, "seek"):
        uploaded_file.seek(0)
    data = uploaded_file.read(limit + 1)
    return bytes(data)


def attach(appeal: Appeal, uploaded_file: Any, actor: Any) -> AppealPhoto:
    """Check, clean and store one photo of ``appeal``; raises 422 (field ``photos``) otherwise.

    Who may attach is the caller's check (the API: owner, secret holder or intake staff).
    """
    data = read_upload(uploaded_file)
    encoded, content_type, ext, width, height = clean_image(data)
    with transaction.atomic():
        # Lock the appeal so two uploads at once cannot both pass the count check.
        Appeal.objects.select_for_update().filter(pk=appeal.pk).first()
        count = AppealPhoto.objects.filter(appeal=appeal).count()
        if count >= max_photos():
            raise too_many(count, 1)
        now = timezone.now()
        photo = AppealPhoto(
            appeal=appeal,
            size=len(encoded),
            content_type=content_type,
            uploaded_by=actor if getattr(actor, "pk", None) else None,
            at=now,
        )
        photo.image.save(f"photo.{ext}", ContentFile(encoded), save=False)
        try:
            photo.width, photo.height = width, height
            photo.save()
            AppealEvent.objects.create(
                appeal=appeal,
                action="photo",
                from_state=appeal.state,
                to_state=appeal.state,
                actor=photo.uploaded_by,
                unit=appeal.current_unit or appeal.intake_unit,
                data={"photo": photo.pk, "size": photo.size, "content_type": content_type},
                at=now,
            )
            record(
                actor,
                "appeals.photo",
                appeal,
                after={"photo": photo.pk, "size": photo.size, "content_type": content_type},
            )
        except BaseException:
            # No row, no file: a failed write must not leave an orphan in the media folder.
            photo.image.storage.delete(str(photo.image.name))
            raise
    return photo
