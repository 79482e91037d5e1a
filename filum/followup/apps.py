from django.apps import AppConfig


class FollowupConfig(AppConfig):
    name = "filum.followup"
    label = "followup"
