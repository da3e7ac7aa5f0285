"""Signals other apps connect to (the backtests app starts its runs on ``proposal_submitted``).

``proposal_submitted`` is sent inside submit_proposal's transaction with ``proposal=``; a
receiver that queues a Celery task must do it with ``transaction.on_commit``.
"""

from django.dispatch import Signal

proposal_submitted = Signal()
