"""Tests in real headless Chromium (Playwright driving /usr/bin/chromium)."""
