from django.apps import AppConfig


class VotingConfig(AppConfig):
    """Votes, their count under the policy copied onto the proposal, the frozen outcome, signed
    votes (EIP-712) and Sign-In with Ethereum; above the domains it reads (governance,
    proposals, backtests) and below the pages (review)."""

    name = "voting"
    default_auto_field = "django.db.models.BigAutoField"
