"""The reporting tables BI tools query: one module per table, one asset per module."""

REPORTING_GROUP = "reporting"
OWNERS = ["team:data-platform"]
