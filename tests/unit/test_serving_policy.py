"""The dashboard's debug-mode policy (a pure function, so plain unit tests)."""

from __future__ import annotations

import pytest

from dashboard.serving_policy import ALLOW_DEBUG_ENV, DebugModeRefused, check_debug_allowed


@pytest.mark.parametrize("allow", [None, "", "0", "true", "yes", " 1", "1 "])
def test_debug_is_refused_unless_explicitly_allowed(allow: str | None) -> None:
    with pytest.raises(DebugModeRefused, match=ALLOW_DEBUG_ENV):
        check_debug_allowed(True, allow)


def test_debug_is_served_when_allowed() -> None:
    check_debug_allowed(True, "1")


@pytest.mark.parametrize("allow", [None, "", "0", "1"])
def test_without_debug_anything_goes(allow: str | None) -> None:
    check_debug_allowed(False, allow)
