"""Workflows on markets, versions and proposals (each one atomic, audited).

``versions``: versions and the live one, and the checks a proposed set must pass; ``lifecycle``:
drafts, submission, the vote's schedule and outcome, withdrawal, execution; ``exporting``: the
export of an approved proposal; ``common``: the locks and refusals they share. Everything public
is importable from ``proposals.services``.
"""

from proposals.services.common import (
    CompletedBacktest,
    ProposalRefused,
)
from proposals.services.exporting import (
    MAX_NONCE,
    REASON_LENGTH,
    export_preview,
    export_proposal,
)
from proposals.services.lifecycle import (
    OWN_SERVICE,
    create_draft,
    decide_proposal,
    execute_proposal,
    record_quorum_reached,
    require_timelock_passed,
    schedule_voting,
    start_voting,
    submit_draft,
    transition_proposal,
    update_draft,
    withdraw_proposal,
)
from proposals.services.versions import (
    bootstrap_live_version,
    check_proposal_values,
    create_version,
    guardrail_violations,
    live_history,
    set_live_version,
    submission_blockers,
)

__all__ = [
    "MAX_NONCE",
    "REASON_LENGTH",
    "CompletedBacktest",
    "OWN_SERVICE",
    "ProposalRefused",
    "bootstrap_live_version",
    "check_proposal_values",
    "create_draft",
    "create_version",
    "decide_proposal",
    "execute_proposal",
    "export_preview",
    "export_proposal",
    "guardrail_violations",
    "live_history",
    "record_quorum_reached",
    "require_timelock_passed",
    "schedule_voting",
    "set_live_version",
    "start_voting",
    "submission_blockers",
    "submit_draft",
    "transition_proposal",
    "update_draft",
    "withdraw_proposal",
]
