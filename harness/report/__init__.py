"""Reports: report.html per run (page), its plots (plots), the store's index (index).

from harness.report import write_run_report
write_run_report("store/default/20261126T120503")   # -> .../report.html
"""

from harness.report.page import write_run_report

__all__ = ["write_run_report"]
