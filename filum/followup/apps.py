from django.apps import AppConfig


class FollowupConfig(AppConfig):
    name = "filum.followup"
    label = "followup"

    def ready(self) -> None:
        from filum.cases.changes import dossier_facts_changed
        from filum.followup.kept import on_facts_changed

        # Writes in cases and journal tell the kept traffic lights (decision 0015).
        dossier_facts_changed.connect(on_facts_changed, dispatch_uid="followup_kept_lights")
