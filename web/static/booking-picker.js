// "Réserver une ressource" from a lesson (issue 6): two lists, the available resources
// on the left and the chosen ones on the right, moved across with the buttons (or a
// double click). The page works without it: the left list is then a multiple select
// named "pick". With it, the right list carries "pick", and only the quantities of the
// chosen equipment sets are shown.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-picker]");
  if (!form) return;
  const available = form.querySelector("#available");
  const chosen = form.querySelector("#chosen");
  if (!available || !chosen) return;
  available.removeAttribute("name");
  chosen.setAttribute("name", "pick");
  form.querySelectorAll("[hidden]").forEach((el) => el.removeAttribute("hidden"));
  form.querySelectorAll(".picker-no-js").forEach((el) => el.setAttribute("hidden", ""));

  // Where each option came from, to put it back in its domain's group.
  available.querySelectorAll("option").forEach((option) => {
    option.dataset.group = option.parentElement.label || "";
  });

  const quantities = () => {
    const picked = new Set([...chosen.options].map((o) => o.value));
    form.querySelectorAll("p.quantity[data-for]").forEach((p) => {
      p.hidden = !picked.has(p.dataset.for);
    });
  };
  const add = (options) => {
    options.forEach((o) => { o.selected = false; chosen.append(o); });
    quantities();
  };
  const remove = (options) => {
    options.forEach((o) => {
      o.selected = false;
      const group = [...available.querySelectorAll("optgroup")]
        .find((g) => g.label === o.dataset.group);
      (group || available).append(o);
    });
    quantities();
  };
  const selected = (list) => [...list.selectedOptions].filter((o) => !o.disabled);

  form.querySelector('[data-move="add"]').addEventListener("click", () => add(selected(available)));
  form.querySelector('[data-move="remove"]').addEventListener("click", () => remove(selected(chosen)));
  available.addEventListener("dblclick", () => add(selected(available)));
  chosen.addEventListener("dblclick", () => remove(selected(chosen)));
  form.addEventListener("submit", () => {
    [...chosen.options].forEach((o) => { o.selected = true; });
  });
  add(selected(available)); // pre-selected on the server: the lesson's room, a retry
});
