"""Every lifecycle step recorded by the services has a label on the dossier timeline."""

import re
from pathlib import Path

from django.utils import translation

from filum.web.templatetags.filum import event_label

SOURCES = ["filum/cases/services.py", "filum/followup/lifecycle.py", "filum/followup/segments.py"]


def recorded_kinds() -> set[str]:
    kinds: set[str] = set()
    for source in SOURCES:
        text = Path(source).read_text()
        kinds |= set(re.findall(r'kind="([a-z_]+)"', text))
        for template in re.findall(r'kind=f"(segment_\{[^}]+\}_[a-z]+)"', text):
            outcome = template.rsplit("_", 1)[-1]
            kinds |= {f"segment_{k}_{outcome}" for k in ("initial", "change", "review")}
    return kinds


def test_p6_every_recorded_step_has_a_french_label():
    kinds = recorded_kinds()
    assert "intake_accepted" in kinds
    with translation.override("fr"):
        unlabelled = sorted(k for k in kinds if event_label(k) == k)
        assert unlabelled == []
        assert event_label("segment_initial_confirmed") == "Proposition de segment confirmée"
