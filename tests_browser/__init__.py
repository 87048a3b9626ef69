"""Browser tests: a real Home Assistant driven through its real frontend with Chromium."""
