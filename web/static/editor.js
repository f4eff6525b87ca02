// Rich-text editor of the cahier de textes (issue 20): Quill 2 (static/vendor/quill,
// SOURCE.md) on every textarea[data-rich-text]. The text area stays in the form and
// receives the editor's HTML when the form is sent; the server cleans it again with
// nh3 (web/rich_text.py). Without JavaScript the text area is all there is,
// and typed text keeps its paragraphs and line breaks.
//
// Images, sounds and videos: on an activity that exists (data-upload-url), the file
// is uploaded as an attachment of the activity (the JSON API, raw PUT, quota of the
// teacher's porte-documents) and inserted where the cursor is, played from
// /textbook/pieces-jointes/<id>/media. On a new activity (data-save-first), the form
// is saved first and the edit page opens, where the media can be inserted.
"use strict";
(() => {
  if (!window.Quill) return;
  const BlockEmbed = Quill.import("blots/block/embed");

  class MediaBlot extends BlockEmbed {
    static create(url) {
      const node = super.create();
      node.setAttribute("src", url);
      node.setAttribute("controls", "");
      node.setAttribute("preload", "metadata");
      return node;
    }
    static value(node) { return node.getAttribute("src"); }
  }
  class AudioBlot extends MediaBlot {}
  AudioBlot.blotName = "audio";
  AudioBlot.tagName = "AUDIO";
  class VideoBlot extends MediaBlot {}
  VideoBlot.blotName = "video";
  VideoBlot.tagName = "VIDEO";
  Quill.register({ "formats/audio": AudioBlot, "formats/video": VideoBlot }, true);

  const SOUND_ICON = '<svg viewBox="0 0 18 18" aria-hidden="true"><polygon class="ql-stroke" points="3 7 6 7 10 4 10 14 6 11 3 11 3 7"/><path class="ql-stroke" d="M12.5 6.5a3.5 3.5 0 0 1 0 5"/><path class="ql-stroke" d="M14.5 4.5a6.5 6.5 0 0 1 0 9"/></svg>';
  const BUTTONS = [
    [["header", "2", "Section"], ["header", "3", "Sous-section"]],
    [["bold", null, "Gras"], ["italic", null, "Italique"], ["underline", null, "Souligné"],
     ["strike", null, "Barré"]],
    [["list", "bullet", "Liste à puces"], ["list", "ordered", "Liste numérotée"],
     ["blockquote", null, "Citation"]],
    [["link", null, "Lien"], ["image", null, "Insérer une image"],
     ["audio", null, "Insérer un son"], ["video", null, "Insérer une vidéo"]],
    [["clean", null, "Effacer la mise en forme"]],
  ];
  const ACCEPT = { image: "image/png,image/jpeg,image/gif,image/webp",
                   audio: "audio/*", video: "video/mp4,video/webm,video/ogg" };

  function toolbarFor(media) {
    const bar = document.createElement("div");
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", "Mise en forme");
    for (const group of BUTTONS) {
      const span = document.createElement("span");
      span.className = "ql-formats";
      for (const [format, value, name] of group) {
        if (!media && format in ACCEPT) continue;
        const button = document.createElement("button");
        button.type = "button";
        button.className = `ql-${format}`;
        if (value) button.value = value;
        button.setAttribute("aria-label", name);
        button.title = name;
        if (format === "audio") button.innerHTML = SOUND_ICON;
        span.appendChild(button);
      }
      bar.appendChild(span);
    }
    return bar;
  }

  async function upload(area, file, state) {
    state.classList.remove("error");
    state.textContent = `Envoi de ${file.name}…`;
    const answer = await fetch(area.dataset.uploadUrl + encodeURIComponent(file.name), {
      method: "PUT", body: file, credentials: "same-origin",
      headers: { "X-CSRFToken": area.dataset.csrf,
                 "Content-Type": "application/octet-stream" },
    });
    if (answer.status !== 201) {
      let reason = `Erreur ${answer.status}`;
      try { reason = (await answer.json()).error || reason; } catch (e) { /* not JSON */ }
      state.textContent = `${file.name} refusé : ${reason}`;
      state.classList.add("error");
      return null;
    }
    const added = await answer.json();
    state.textContent = `${file.name} inséré (aussi en pièce jointe).`;
    return `${added.url}/media`;
  }

  function mediaHandler(area, kind, quillOf, state) {
    return function () {
      const quill = quillOf();
      if (area.dataset.saveFirst !== undefined) {
        const form = area.form;
        const then = document.createElement("input");
        then.type = "hidden";
        then.name = "then";
        then.value = "media";
        form.appendChild(then);
        state.textContent = "Enregistrement, puis insertion sur la page de modification…";
        form.requestSubmit();
        return;
      }
      const picker = document.createElement("input");
      picker.type = "file";
      picker.accept = ACCEPT[kind];
      picker.hidden = true;
      picker.addEventListener("change", async () => {
        const file = picker.files[0];
        picker.remove();
        if (!file) return;
        const range = quill.getSelection(true);
        const url = await upload(area, file, state);
        if (url) {
          quill.insertEmbed(range.index, kind, url, "user");
          const [blot] = quill.getLeaf(range.index + 1);
          if (kind === "image" && blot && blot.domNode.tagName === "IMG") {
            // A text alternative (WCAG 1.1.1): the file's name, which teachers choose.
            blot.domNode.setAttribute("alt", file.name.replace(/\.[^.]*$/, ""));
          }
          quill.setSelection(range.index + 1, 0, "silent");
        }
      });
      document.body.appendChild(picker);
      picker.click();
    };
  }

  function attach(area) {
    const label = document.querySelector(`label[for="${area.id}"]`);
    const box = document.createElement("div");
    box.className = "rich-editor";
    const holder = document.createElement("div");
    const state = document.createElement("p");
    state.className = "upload-state editor-state";
    // Announced as it changes (aria-live), without the status role that the page's
    // message has: the page keeps one status.
    state.setAttribute("aria-live", "polite");
    const media = area.dataset.uploadUrl !== undefined || area.dataset.saveFirst !== undefined;
    const bar = toolbarFor(media);
    box.append(bar, holder, state);
    area.after(box);
    area.hidden = true;
    let quill = null;
    const handlers = {};
    for (const kind of ["image", "audio", "video"]) {
      handlers[kind] = mediaHandler(area, kind, () => quill, state);
    }
    quill = new Quill(holder, {
      theme: "snow",
      formats: ["header", "bold", "italic", "underline", "strike", "list", "blockquote",
                "link", "image", "audio", "video"],
      modules: { toolbar: { container: bar, handlers } },
    });
    const root = quill.root;
    root.setAttribute("role", "textbox");
    root.setAttribute("aria-multiline", "true");
    if (label) {
      // The label names the editor now; the hidden text area keeps none.
      label.id = label.id || `${area.id}-label`;
      label.removeAttribute("for");
      root.setAttribute("aria-labelledby", label.id);
      label.addEventListener("click", () => quill.focus());
    }
    const linkBox = box.querySelector(".ql-tooltip input[type=text]");
    if (linkBox) linkBox.setAttribute("aria-label", "Adresse du lien");
    // Not clipboard.dangerouslyPasteHTML: it also sets the selection, which focuses the
    // editor and takes the cursor from whatever field the teacher is already typing in.
    if (area.value.trim()) {
      quill.setContents(quill.clipboard.convert({ html: area.value, text: "" }), "silent");
    }
    // Quill 2.0.3's getSemanticHTML writes every space as &nbsp;: lines would never wrap.
    const sync = () => {
      area.value = quill.getLength() > 1
        ? quill.getSemanticHTML().replaceAll("&nbsp;", " ") : "";
    };
    quill.on("text-change", sync);
    area.form.addEventListener("submit", sync);
    area.form.addEventListener("formdata", sync);
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const area of document.querySelectorAll("textarea[data-rich-text]")) attach(area);
  });
})();
