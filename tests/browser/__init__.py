"""The dashboard in a real browser (Chromium through Playwright) against real servers and workers."""
