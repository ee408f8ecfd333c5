"""The look of the UI: NHS identity colours, system fonts (nothing fetched), readable focus.

Colours are from the NHS identity palette; text colours are chosen for WCAG 2.2 AA contrast
(4.5:1 for body text) on white and on pale grey. The small script makes citation markers open
their source in the sources panel, by mouse or keyboard.
"""

from __future__ import annotations

import gradio as gr

NHS_BLUE = "#005EB8"
NHS_DARK_BLUE = "#003087"
NHS_BRIGHT_BLUE = "#0072CE"
NHS_BLACK = "#212B32"
NHS_DARK_GREY = "#425563"
NHS_PALE_GREY = "#E8EDEE"
NHS_WARM_YELLOW = "#FFB81C"
NHS_FOCUS_YELLOW = "#FFEB3B"
NHS_RED = "#D5281B"
NHS_WHITE = "#FFFFFF"

FONTS = ("Arial", "Helvetica", "sans-serif")  # the NHS identity's fallback for Frutiger

_NHS_BLUES = gr.themes.Color(
    c50="#E6EFF8",
    c100="#CCE0F1",
    c200="#99C0E3",
    c300="#66A1D5",
    c400="#3381C7",
    c500=NHS_BLUE,
    c600="#0053A3",
    c700="#00478C",
    c800=NHS_DARK_BLUE,
    c900="#002266",
    c950="#001844",
    name="nhs-blue",
)


def nhs_theme() -> gr.themes.Base:
    """A Gradio theme in NHS colours, with local fonts only."""
    return gr.themes.Base(
        primary_hue=_NHS_BLUES,
        secondary_hue=_NHS_BLUES,
        neutral_hue=gr.themes.colors.slate,
        font=FONTS,
        font_mono=("Consolas", "monospace"),
    ).set(
        body_text_color=NHS_BLACK,
        body_text_color_subdued=NHS_DARK_GREY,
        block_label_text_color=NHS_BLACK,
        block_title_text_color=NHS_BLACK,
        input_placeholder_color=NHS_DARK_GREY,
        button_primary_background_fill=NHS_BLUE,
        button_primary_background_fill_hover=NHS_DARK_BLUE,
        button_primary_text_color=NHS_WHITE,
        button_secondary_background_fill=NHS_WHITE,
        button_secondary_background_fill_hover=NHS_PALE_GREY,
        button_secondary_text_color=NHS_BLUE,
        button_secondary_border_color=NHS_BLUE,
        link_text_color=NHS_BLUE,
        link_text_color_visited="#330072",
        link_text_color_hover=NHS_DARK_BLUE,
        color_accent_soft=NHS_PALE_GREY,
    )


PHONE_MAX_WIDTH = 700  # px: below this the panels stack and a marker opens a drawer

CSS = f"""
.gradio-container {{ max-width: 1280px !important; margin: 0 auto; }}
#nhs-header {{ background: {NHS_BLUE}; color: {NHS_WHITE}; padding: 12px 20px; border-radius: 4px; }}
#nhs-header h1 {{ color: {NHS_WHITE}; margin: 0; font-size: 1.6rem; }}
#nhs-header p {{ color: {NHS_WHITE}; margin: 4px 0 0 0; }}
#nhs-notice {{ border-left: 8px solid {NHS_WARM_YELLOW}; background: #FFF9E6; padding: 8px 14px; }}
#nhs-notice p {{ color: {NHS_BLACK}; margin: 0; }}
#sources-panel {{ max-height: 75vh; overflow-y: auto; }}
#sources-panel .panel-h {{ font-size: 1.2rem; margin: 0 0 8px 0; color: {NHS_BLACK}; }}
#sources-panel .panel-h3 {{ font-size: 1.05rem; margin: 12px 0 6px 0; color: {NHS_BLACK}; }}
#sources-panel details.citation {{ border-left: 4px solid {NHS_BLUE}; padding: 4px 10px;
  margin: 0 0 10px 0; background: {NHS_WHITE}; }}
#sources-panel details.citation[open] {{ background: #F4F8FC; }}
#sources-panel summary {{ cursor: pointer; font-weight: bold; color: {NHS_BLACK}; }}
#sources-panel .cite-n {{ color: {NHS_BLUE}; }}
#sources-panel .cite-meta {{ color: {NHS_DARK_GREY}; font-size: 0.9rem; margin: 4px 0; }}
#sources-panel .cite-warning {{ color: {NHS_BLACK}; background: #FFF4D6; border-left: 4px solid
  {NHS_WARM_YELLOW}; font-size: 0.9rem; margin: 4px 0; padding: 4px 8px; }}
#sources-panel blockquote {{ margin: 6px 0; padding: 6px 10px; border-left: 2px solid
  {NHS_PALE_GREY}; color: {NHS_BLACK}; white-space: pre-wrap; }}
#sources-panel mark {{ background: {NHS_FOCUS_YELLOW}; color: {NHS_BLACK}; padding: 0 1px; }}
#sources-panel a {{ color: {NHS_BLUE}; }}
#sources-panel .tag {{ background: {NHS_BLUE}; color: {NHS_WHITE}; font-size: 0.8rem;
  padding: 0 4px; border-radius: 2px; }}
#sources-panel .refusal-note {{ border-left: 4px solid {NHS_RED}; padding: 4px 10px;
  color: {NHS_BLACK}; }}
#feedback-status p {{ color: {NHS_BLACK}; }}
#sources-panel .badge-warning, #cite-drawer .badge-warning {{ background: {NHS_WARM_YELLOW};
  color: {NHS_BLACK}; font-size: 0.8rem; padding: 0 6px; border-radius: 2px;
  margin-left: 4px; }}
#download, #new-conversation {{ white-space: nowrap; min-width: max-content !important; }}
#filter-chips .filter-chips {{ margin: 4px 0; color: {NHS_BLACK}; font-size: 0.9rem; }}
#filter-chips .chip {{ display: inline-block; background: {NHS_PALE_GREY}; color: {NHS_BLACK};
  border: 1px solid {NHS_DARK_GREY}; border-radius: 12px; padding: 0 8px; margin: 2px 4px; }}
#cite-drawer {{ position: fixed; left: 0; right: 0; bottom: 0; max-height: 60vh; overflow-y: auto;
  background: {NHS_WHITE}; border-top: 4px solid {NHS_BLUE}; box-shadow: 0 -4px 12px rgba(0,0,0,.25);
  padding: 8px 14px 14px 14px; z-index: 1000; color: {NHS_BLACK}; }}
#cite-drawer[hidden] {{ display: none; }}
#cite-drawer .drawer-close {{ float: right; background: {NHS_WHITE}; color: {NHS_BLUE};
  border: 2px solid {NHS_BLUE}; border-radius: 4px; padding: 4px 12px; font-weight: bold; }}
#cite-drawer mark {{ background: {NHS_FOCUS_YELLOW}; color: {NHS_BLACK}; }}
#cite-drawer blockquote {{ margin: 6px 0; padding: 6px 10px; border-left: 2px solid
  {NHS_PALE_GREY}; white-space: pre-wrap; }}
#cite-drawer a {{ color: {NHS_BLUE}; }}
a:focus, button:focus-visible, summary:focus-visible, textarea:focus-visible,
input:focus-visible {{ outline: 3px solid {NHS_FOCUS_YELLOW} !important;
  box-shadow: 0 0 0 5px {NHS_BLACK} !important; }}
@media (max-width: {PHONE_MAX_WIDTH}px) {{
  #nhs-header {{ padding: 8px 12px; }}
  #nhs-header h1 {{ font-size: 1.25rem; }}
  #nhs-header p {{ font-size: 0.85rem; }}
  #nhs-notice p {{ font-size: 0.85rem; }}
  #chat {{ height: 34vh !important; min-height: 0 !important; }}
  #sources-panel {{ max-height: none; }}
}}
"""

# Citation markers are links to #cite-T-N. On a wide screen, open that source (and any folded
# section around it) in the sources panel instead of navigating, and move focus there. On a
# phone the panel is far below, so the source opens in a drawer over the chat, where the reader
# is; closing it (button or Escape) returns focus to the marker.
HEAD = """
<script>
(function () {
  var PHONE = __PHONE__;
  var lastMarker = null;
  function drawer() {
    var d = document.getElementById("cite-drawer");
    if (d) { return d; }
    d = document.createElement("section");
    d.id = "cite-drawer";
    d.setAttribute("role", "dialog");
    d.setAttribute("aria-label", "Source");
    d.hidden = true;
    document.body.appendChild(d);
    return d;
  }
  function closeDrawer() {
    var d = document.getElementById("cite-drawer");
    if (!d || d.hidden) { return; }
    d.hidden = true;
    d.innerHTML = "";
    if (lastMarker) { lastMarker.focus(); }
  }
  function openDrawer(target, link) {
    var d = drawer();
    var body = target.cloneNode(true);
    body.removeAttribute("id");
    body.open = true;
    d.innerHTML = "";
    var close = document.createElement("button");
    close.type = "button";
    close.className = "drawer-close";
    close.textContent = "Close";
    close.addEventListener("click", closeDrawer);
    d.appendChild(close);
    d.appendChild(body);
    d.setAttribute("aria-label", "Source " + link.textContent.trim());
    d.hidden = false;
    lastMarker = link;
    close.focus();
  }
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { closeDrawer(); }
  });
  document.addEventListener("click", function (event) {
    var link = event.target && event.target.closest
      ? event.target.closest('a[href^="#cite-"]') : null;
    if (!link) { return; }
    event.preventDefault();
    event.stopPropagation();
    var target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target) { return; }
    if (window.innerWidth <= PHONE && !link.closest("#sources-panel")) {
      openDrawer(target, link);
      return;
    }
    for (var el = target; el; el = el.parentElement) {
      if (el.tagName === "DETAILS") { el.open = true; }
    }
    target.scrollIntoView({block: "nearest"});
    var summary = target.querySelector("summary");
    if (summary) { summary.focus(); }
  }, true);
})();
</script>
""".replace("__PHONE__", str(PHONE_MAX_WIDTH))
