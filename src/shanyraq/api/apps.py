from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "shanyraq.api"
    verbose_name = "API"
