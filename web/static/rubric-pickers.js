// Pickers of a rubric's access tabs (issue 20): each input[data-search] has a
// <datalist>; as the manager types, the list is filled from the rubric's small JSON
// search (web/rubrics/search.py), which answers only about the rubric's school and
// only to its managers. The browser's own list (a native combobox) shows the
// choices and the keyboard walks them. Without JavaScript the group and subject
// lists come filled from the page, and a person's name typed whole is understood
// by the server.
"use strict";
(() => {
  const DELAY = 200; // milliseconds after the last key before asking
  for (const input of document.querySelectorAll("input[data-search]")) {
    const list = document.getElementById(input.getAttribute("list"));
    if (!list) continue;
    let timer = null;
    let asked = "";
    const ask = async () => {
      const query = input.value.trim();
      if (query === asked) return;
      asked = query;
      const url = new URL(input.dataset.search, window.location.href);
      url.searchParams.set("q", query);
      let answer;
      try {
        answer = await fetch(url, { credentials: "same-origin",
                                    headers: { Accept: "application/json" } });
      } catch (err) {
        return; // offline: the page's own list (if any) stays
      }
      if (!answer.ok || query !== input.value.trim()) return;
      const found = (await answer.json()).results || [];
      const options = found.map((item) => {
        const option = document.createElement("option");
        option.value = item.value;
        if (item.label) option.label = item.label;
        return option;
      });
      list.replaceChildren(...options);
    };
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(ask, DELAY);
    });
  }
})();
