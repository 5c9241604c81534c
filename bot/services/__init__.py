"""The clinic rules (../shared/spec/RULES.md). Dialogs, the staff CLI and sweeps all call these."""
