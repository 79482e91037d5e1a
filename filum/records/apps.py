from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "filum.records"
    label = "records"
