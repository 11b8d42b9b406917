"""Production static files: whitenoise's hashed, compressed files, with the manifest kept beside
STATIC_ROOT rather than in it, so `staticfiles.json` (every file name) is not itself served."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from whitenoise.storage import CompressedManifestStaticFilesStorage


def manifest_root():
    root = settings.STATIC_ROOT
    return root.with_name(root.name + "-manifest")


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("manifest_storage", FileSystemStorage(location=manifest_root()))
        super().__init__(*args, **kwargs)
