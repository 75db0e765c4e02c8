"""The PR report journey (`mlops-ci report`)."""

from mlops_ci.services.report.journey import (
    BUNDLE_DIR,
    METADATA_JSON,
    REPORT_JSON,
    REPORT_MD,
    ReportOutcome,
    ReportRequest,
    check_gates,
    generate_report,
    write_bundle,
    write_outputs,
)

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
