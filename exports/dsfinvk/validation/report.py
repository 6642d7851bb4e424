"""Findings of the export validator and the report it returns."""

from collections import Counter
from dataclasses import asdict, dataclass, field

__all__ = ["ERROR", "MAX_FINDINGS", "WARNING", "Finding", "Findings", "ValidationReport"]

ERROR = "error"
WARNING = "warning"
MAX_FINDINGS = 500


@dataclass(frozen=True)
class Finding:
    code: str  # stable: E_… (error) / W_… (warning)
    severity: str  # ERROR or WARNING
    file: str  # the archive member ("" for the archive itself)
    line: int | None  # physical line in the file (1 = header), None when it concerns the whole file
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class ValidationReport:
    passed: bool
    findings: list[Finding]
    stats: dict
    truncated: int = 0  # findings not stored (beyond MAX_FINDINGS); counted in stats["codes"]

    def as_json(self) -> dict:
        return {"passed": self.passed, "findings": [finding.as_dict() for finding in self.findings],
                "stats": self.stats, "truncated": self.truncated}


@dataclass
class Findings:
    """Collects findings, keeps the first ``limit`` and counts all of them per code."""

    limit: int = MAX_FINDINGS
    items: list[Finding] = field(default_factory=list)
    codes: Counter = field(default_factory=Counter)
    errors: int = 0
    warnings: int = 0
    dropped: int = 0

    def add(self, code: str, severity: str, file: str, line: int | None, message: str) -> None:
        self.codes[code] += 1
        if severity == ERROR:
            self.errors += 1
        else:
            self.warnings += 1
        if len(self.items) < self.limit:
            self.items.append(Finding(code, severity, file, line, message))
        else:
            self.dropped += 1

    def error(self, code: str, file: str, line: int | None, message: str) -> None:
        self.add(code, ERROR, file, line, message)

    def warning(self, code: str, file: str, line: int | None, message: str) -> None:
        self.add(code, WARNING, file, line, message)

    def count_unlisted(self, code: str, count: int) -> None:
        """``count`` further errors that were not even collected (e.g. beyond the format check's limit)."""
        if count > 0:
            self.codes[code] += count
            self.errors += count
            self.dropped += count

    def report(self, stats: dict) -> ValidationReport:
        stats = {**stats, "errors": self.errors, "warnings": self.warnings, "codes": dict(sorted(self.codes.items()))}
        return ValidationReport(passed=self.errors == 0, findings=list(self.items), stats=stats,
                                truncated=self.dropped)
