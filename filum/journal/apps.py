from django.apps import AppConfig


class JournalConfig(AppConfig):
    name = "filum.journal"
    label = "journal"
