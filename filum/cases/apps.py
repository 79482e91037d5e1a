from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "filum.cases"
    label = "cases"
