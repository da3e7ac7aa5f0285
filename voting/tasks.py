"""The beat's task: open votes whose delay has passed and close those whose period has ended."""

from __future__ import annotations

from celery import shared_task

from voting import services


@shared_task(acks_late=True, ignore_result=True)
def advance_votes_task() -> dict[str, list[int]]:
    return services.advance_votes()
