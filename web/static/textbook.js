// Lesson page: show the class's workload for the due lesson chosen in the select
// (issue 5, "Workload"). The page works without it: each option names that day's load.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const select = document.querySelector('select[name="homework-due_lesson"]');
  const workload = document.querySelector("p.workload[data-url]");
  if (!select || !workload) return;
  select.addEventListener("change", async () => {
    const url = `${workload.dataset.url}?echeance=${encodeURIComponent(select.value)}`;
    const answer = await fetch(url, { credentials: "same-origin" });
    if (answer.ok) workload.textContent = (await answer.json()).text;
  });
});
