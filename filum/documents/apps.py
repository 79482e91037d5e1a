from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "filum.documents"
    label = "documents"
