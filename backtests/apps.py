from django.apps import AppConfig
from django.conf import settings
from kombu.transport import sqlalchemy


class BacktestsConfig(AppConfig):
    name = "backtests"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The SQLite broker (kombu's SQLAlchemy transport) is polled, by default every second,
        # which would add a second to every chunk (a worker fetches its next message when it
        # finishes one). It cannot be set through broker_transport_options: that transport
        # passes its options on to SQLAlchemy's create_engine, which refuses unknown ones.
        sqlalchemy.Transport.polling_interval = settings.SQLITE_BROKER_POLLING_INTERVAL
