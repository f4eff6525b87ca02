// Raw uploads from the lesson page: a student's hand-in (issue 7) and a teacher's
// attachments (issue 5). Each chosen file is the raw body of one PUT to the JSON API
// (the quota is reserved from its size before it is read), one after the other; the
// page reloads to show the files, or says why a file was refused. Without
// JavaScript, an attachment form posts the file as a plain form instead.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form.raw-upload")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const input = form.querySelector('input[type="file"]');
      const state = form.querySelector(".upload-state");
      state.classList.remove("error");
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
