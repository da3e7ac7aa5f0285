from django.apps import AppConfig


class ReviewConfig(AppConfig):
    """The top of the house: the pages contributors and voters use (proposals, markets) and the
    workflows that cross the apps below (submitting a proposal starts its backtest)."""

    name = "review"
    default_auto_field = "django.db.models.BigAutoField"
