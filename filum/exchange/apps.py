from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "filum.exchange"
    label = "exchange"
