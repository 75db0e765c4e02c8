"""The PR report journey (`mlops-ci report`)."""

from mlops_ci.services.report.journey import (
    REPORT_JSON,
    REPORT_MD,
    ReportOutcome,
    ReportRequest,
    check_gates,
    generate_report,
    write_outputs,
)
from mlops_ci.services.shared.bundle import BUNDLE_DIR, METADATA_JSON, write_bundle

__all__ = [
    "BUNDLE_DIR",
    "METADATA_JSON",
    "REPORT_JSON",
    "REPORT_MD",
    "ReportOutcome",
    "ReportRequest",
    "check_gates",
    "generate_report",
    "write_bundle",
    "write_outputs",
]
