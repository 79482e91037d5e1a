from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from filum.documents.validation import (
    ACCEPT,
    ALLOWED_LABELS,
    MAX_SIZE,
    FileType,
    check_upload,
    format_size,
)


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"), widget=forms.ClearableFileInput(attrs={"accept": ACCEPT})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = gettext("%(types)s, at most %(limit)s.") % {
            "types": ALLOWED_LABELS,
            "limit": format_size(MAX_SIZE),
        }

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        name, file_type = check_upload(upload)
        self.cleaned_name: str = name
        self.file_type: FileType = file_type
        return upload
