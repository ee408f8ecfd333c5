"""How a quoted sentence is shown: markers, markup and the source's own reference marks go."""

from __future__ import annotations

from assistant.answer.display import display_text


def test_display_text_strips_markers_bold_escapes_and_line_breaks() -> None:
    assert display_text("12. **Boards** should\n  act \\(now\\).") == "Boards should act (now)."
    assert display_text("• share records") == "share records"
    assert display_text("## Next steps") == "Next steps"
    assert display_text("2.8 million people wait.") == "2.8 million people wait."
    assert display_text("44 The wider economy grew.") == "The wider economy grew."
    assert display_text("18 ICBs have merged.") == "18 ICBs have merged."


def test_display_text_drops_source_reference_marks_and_bracketed_links():
    shown = display_text(
        "Teams share one inbox [19] as set out in the guide (https://example.org/guide) [3, 4]."
    )
    assert shown == "Teams share one inbox as set out in the guide."


def test_display_text_drops_briefing_source_markers():
    shown = display_text(
        "Boards sign off plans by March [src: nhse-planning-framework-2025, Annex A]."
    )
    assert shown == "Boards sign off plans by March."


def test_display_text_drops_bold_markers_the_conversion_split_apart() -> None:
    raw = "**Set up the team** * * by * * agreeing a lead."
    assert display_text(raw) == "Set up the team by agreeing a lead."
    assert display_text("Costs rose 3 * 4 times.") == "Costs rose 3 * 4 times."


def test_addresses_in_a_quote_are_inert_code_with_their_domain_visible() -> None:
    shown = display_text("Send it to ig.team@nhs.net or see https://evil.example/forms?x=1.")
    assert shown == "Send it to `ig.team@nhs.net` or see `https://evil.example/forms?x=1`."
