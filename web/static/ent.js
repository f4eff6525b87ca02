// Every page: ask before a destructive form is sent (data-confirm="question"), the
// menu button of narrow screens, the « Mon établissement » column folded on narrow
// screens (open on wide ones), and keyboard access to a table too wide for the
// screen (it scrolls in its own box: it takes the focus, so arrows scroll it; WCAG
// 2.1.1). Pages work without it: the forms are sent at once, and the navigation and
// the column stay open under the header.
"use strict";
function focusableWideTables() {
  for (const table of document.querySelectorAll("main table")) {
    const wide = table.scrollWidth > table.clientWidth + 1;
    if (wide && !table.hasAttribute("tabindex")) {
      table.tabIndex = 0;
      table.dataset.scrollFocus = "";
      if (!table.hasAttribute("aria-label") && !table.caption) {
        const heading = document.querySelector("main h1");
        table.setAttribute("aria-label", heading ? heading.textContent.trim() : document.title);
      }
    } else if (!wide && "scrollFocus" in table.dataset) {
      table.removeAttribute("tabindex");
      delete table.dataset.scrollFocus;
    }
  }
}
window.addEventListener("resize", focusableWideTables);
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
  if (!window.confirm(form.dataset.confirm)) event.preventDefault();
});
// The width below which ent.css stacks the page (its @media (max-width: 48rem)).
const NARROW = window.matchMedia("(max-width: 48rem)");
function foldSchoolColumn() {
  const fold = document.querySelector("details.school-column-fold");
  if (fold) fold.open = !NARROW.matches;
}
NARROW.addEventListener("change", foldSchoolColumn);
document.addEventListener("DOMContentLoaded", () => {
  focusableWideTables();
  foldSchoolColumn();
  const toggle = document.querySelector("button.menu-toggle");
  const menu = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
  if (!toggle || !menu) return;
  document.documentElement.classList.add("has-menu-toggle");
  toggle.hidden = false;
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    menu.classList.toggle("open", open);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
      toggle.setAttribute("aria-expanded", "false");
      menu.classList.remove("open");
      toggle.focus();
    }
  });
});
