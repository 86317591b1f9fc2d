"""The test suite: one folder per bot/ package (tests/core/ for bot/core/, ...), end-to-end,
crash-safety, command-line and layout tests at the top. Folders are packages, so test modules are
imported by their full name (tests.core.test_policies) and basenames may repeat."""
