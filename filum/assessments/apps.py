from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "filum.assessments"
    label = "assessments"
