"""The dashboard served at `/` (SPEC §8): one page, its modules and styles, a vendored chart
library — nothing to build."""
