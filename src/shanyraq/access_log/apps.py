from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessLogConfig(AppConfig):
    name = "shanyraq.access_log"
    verbose_name = _("Data tracker")
