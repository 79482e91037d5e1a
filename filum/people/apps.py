from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "filum.people"
    label = "people"
