"""Export: approved parameters as contract calls, a Safe Transaction Builder batch file, the
hashes the signers check, and a change report, each decoded back and proven equal to the vote
(spec/export.md, docs/export.md).

Pure functions over plain data (no database): ``build_export`` is the entry point for a
market's configuration and two versions' values; ``encode_changes`` serves ``encode_calls``.
"""

from proposals.export.abi import (
    Binding,
    Call,
    ExportError,
    canonical_signature,
    checksum_address,
    coerce,
    encode_with_signature,
    parse_signature,
    to_text,
)
from proposals.export.bundle import (
    Export,
    adapter_for,
    build_export,
    changed_keys,
    encode_changes,
    market_calls,
)
from proposals.export.custom import check_custom_adapter
from proposals.export.decode import DecodeRow, decode_back, require_match
from proposals.export.safe import (
    MULTISEND_CALL_ONLY,
    SAFE_VERSIONS,
    SafeHashes,
    SafeTx,
    batch_file,
    batch_transactions,
    checksum_status,
    default_multisend,
    safe_hashes,
    safe_transaction,
    safe_version,
    typed_data,
)

__all__ = [
    "Binding",
    "Call",
    "ExportError",
    "canonical_signature",
    "checksum_address",
    "coerce",
    "encode_with_signature",
    "parse_signature",
    "to_text",
    "Export",
    "adapter_for",
    "build_export",
    "changed_keys",
    "encode_changes",
    "market_calls",
    "check_custom_adapter",
    "DecodeRow",
    "decode_back",
    "require_match",
    "MULTISEND_CALL_ONLY",
    "SAFE_VERSIONS",
    "SafeHashes",
    "SafeTx",
    "batch_file",
    "batch_transactions",
    "checksum_status",
    "default_multisend",
    "safe_hashes",
    "safe_transaction",
    "safe_version",
    "typed_data",
]
