// Online submission (issue 7): each chosen file is the raw body of one PUT to the
// JSON API (the quota is reserved from its size before it is read), one after the
// other; the page reloads to show the hand-in, or says why a file was refused.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form.handin-upload")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const input = form.querySelector('input[type="file"]');
      const state = form.querySelector(".handin-state");
      if (!input.files.length) {
        state.textContent = "Choisissez d'abord un fichier.";
        return;
      }
      const refused = [];
      for (const file of input.files) {
        state.textContent = `Envoi de ${file.name}…`;
        const answer = await fetch(form.dataset.uploadUrl + encodeURIComponent(file.name), {
          method: "PUT", body: file, credentials: "same-origin",
          headers: { "X-CSRFToken": form.dataset.csrf, "Content-Type": "application/octet-stream" },
        });
        if (answer.status !== 201) {
          let reason = `Erreur ${answer.status}`;
          try { reason = (await answer.json()).error || reason; } catch (e) { /* not JSON */ }
          refused.push(`${file.name} : ${reason}`);
        }
      }
      if (refused.length) {
        state.textContent = `Refusé — ${refused.join(" ; ")}`;
        state.classList.add("error");
      } else {
        window.location.reload();
      }
    });
  }
});
