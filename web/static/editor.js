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
// « Insérer depuis le porte-documents » opens a <dialog> listing the teacher's own
// porte-documents (data-choices-url: folders, images, sounds, videos); the chosen file
// is attached to the activity (data-pick-url: its bytes are shared, the activity's
// readers read the attachment, never the teacher's space) and inserted the same way.
//
// Tables: Quill's own table module (2.0.3): a 2 × 2 table, then rows and columns
// added or removed where the cursor is. The server keeps table, tr, td and their
// colspan/rowspan; the editor rebuilds its rows from the <tr> when a text is reopened.
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

  const svg = (body) => `<svg viewBox="0 0 18 18" aria-hidden="true">${body}</svg>`;
  const GRID = '<rect class="ql-stroke" x="2" y="3" width="14" height="12" rx="1"/>';
  const ICONS = {
    "documents": svg('<path class="ql-stroke" d="M2 5h5l1.5 2H16v8H2z"/>'),
    "table-row-add": svg(GRID + '<line class="ql-stroke" x1="2" y1="9" x2="16" y2="9"/>'
      + '<line class="ql-stroke" x1="9" y1="10.5" x2="9" y2="14"/><line class="ql-stroke" x1="7.2" y1="12.2" x2="10.8" y2="12.2"/>'),
    "table-column-add": svg(GRID + '<line class="ql-stroke" x1="9" y1="3" x2="9" y2="15"/>'
      + '<line class="ql-stroke" x1="12.5" y1="7.2" x2="12.5" y2="10.8"/><line class="ql-stroke" x1="10.7" y1="9" x2="14.3" y2="9"/>'),
    "table-row-delete": svg(GRID + '<line class="ql-stroke" x1="2" y1="9" x2="16" y2="9"/>'
      + '<line class="ql-stroke" x1="7.2" y1="12.2" x2="10.8" y2="12.2"/>'),
    "table-column-delete": svg(GRID + '<line class="ql-stroke" x1="9" y1="3" x2="9" y2="15"/>'
      + '<line class="ql-stroke" x1="10.7" y1="9" x2="14.3" y2="9"/>'),
    "table-delete": svg(GRID + '<line class="ql-stroke" x1="5" y1="6" x2="13" y2="12"/>'
      + '<line class="ql-stroke" x1="13" y1="6" x2="5" y2="12"/>'),
  };
  // Buttons that act on the table the cursor is in (disabled elsewhere), and the
  // table module's method each calls.
  const TABLE_ACTIONS = {
    "table-row-add": "insertRowBelow", "table-column-add": "insertColumnRight",
    "table-row-delete": "deleteRow", "table-column-delete": "deleteColumn",
    "table-delete": "deleteTable",
  };
  const SOUND_ICON = '<svg viewBox="0 0 18 18" aria-hidden="true"><polygon class="ql-stroke" points="3 7 6 7 10 4 10 14 6 11 3 11 3 7"/><path class="ql-stroke" d="M12.5 6.5a3.5 3.5 0 0 1 0 5"/><path class="ql-stroke" d="M14.5 4.5a6.5 6.5 0 0 1 0 9"/></svg>';
  const BUTTONS = [
    [["header", "2", "Section"], ["header", "3", "Sous-section"]],
    [["bold", null, "Gras"], ["italic", null, "Italique"], ["underline", null, "Souligné"],
     ["strike", null, "Barré"]],
    [["list", "bullet", "Liste à puces"], ["list", "ordered", "Liste numérotée"],
     ["blockquote", null, "Citation"]],
    [["link", null, "Lien"], ["image", null, "Insérer une image"],
     ["audio", null, "Insérer un son"], ["video", null, "Insérer une vidéo"],
     ["documents", null, "Insérer depuis le porte-documents"]],
    [["table", null, "Insérer un tableau"], ["table-row-add", null, "Ajouter une ligne"],
     ["table-column-add", null, "Ajouter une colonne"],
     ["table-row-delete", null, "Supprimer la ligne"],
     ["table-column-delete", null, "Supprimer la colonne"],
     ["table-delete", null, "Supprimer le tableau"]],
    [["clean", null, "Effacer la mise en forme"]],
  ];
  const ACCEPT = { image: "image/png,image/jpeg,image/gif,image/webp",
                   audio: "audio/*", video: "video/mp4,video/webm,video/ogg" };
  const MEDIA_ONLY = new Set([...Object.keys(ACCEPT), "documents"]);

  function toolbarFor(media) {
    const bar = document.createElement("div");
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", "Mise en forme");
    for (const group of BUTTONS) {
      const span = document.createElement("span");
      span.className = "ql-formats";
      for (const [format, value, name] of group) {
        if (!media && MEDIA_ONLY.has(format)) continue;
        const button = document.createElement("button");
        button.type = "button";
        button.className = `ql-${format}`;
        if (value) button.value = value;
        button.setAttribute("aria-label", name);
        button.title = name;
        if (format === "audio") button.innerHTML = SOUND_ICON;
        if (format in ICONS) button.innerHTML = ICONS[format];
        if (format in TABLE_ACTIONS) button.disabled = true;
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

  function insertMedia(quill, range, kind, url, name) {
    quill.insertEmbed(range.index, kind, url, "user");
    const [blot] = quill.getLeaf(range.index + 1);
    if (kind === "image" && blot && blot.domNode.tagName === "IMG") {
      // A text alternative (WCAG 1.1.1): the file's name, which teachers choose.
      blot.domNode.setAttribute("alt", name.replace(/\.[^.]*$/, ""));
    }
    quill.setSelection(range.index + 1, 0, "silent");
  }

  function saveFirst(area, state) {
    const then = document.createElement("input");
    then.type = "hidden";
    then.name = "then";
    then.value = "media";
    area.form.appendChild(then);
    state.textContent = "Enregistrement, puis insertion sur la page de modification…";
    area.form.requestSubmit();
  }

  const KIND_LABELS = { folder: "Dossier", image: "Image", audio: "Son", video: "Vidéo" };

  function humanSize(size) {
    if (size < 1024) return `${size} o`;
    const units = ["Ko", "Mo", "Go"];
    let value = size / 1024;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return `${value.toLocaleString("fr-FR", { maximumFractionDigits: 1 })} ${units[unit]}`;
  }

  // The porte-documents picker: one <dialog> per editor, made when first opened.
  function documentsPicker(area, quillOf, state) {
    let dialog = null;
    let list, where, up, more, message, range;

    async function show(folder, start) {
      const query = new URLSearchParams({ dossier: folder, depart: String(start) });
      message.textContent = "Chargement…";
      let answer;
      try {
        answer = await fetch(`${area.dataset.choicesUrl}?${query}`,
                             { credentials: "same-origin" });
      } catch (e) {
        message.textContent = "Le serveur ne répond pas : réessayez.";
        return;
      }
      const data = await answer.json().catch(() => ({}));
      if (!answer.ok) {
        message.textContent = data.error || `Erreur ${answer.status}`;
        return;
      }
      if (start === 0) list.replaceChildren();
      where.textContent = `Dossier : ${data.folder}`;
      up.hidden = data.parent === null;
      up.onclick = () => show(data.parent, 0);
      for (const member of data.members) {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = `documents-member documents-${member.kind}`;
        const kind = document.createElement("span");
        kind.className = "documents-kind";
        kind.textContent = KIND_LABELS[member.kind];
        const name = document.createElement("span");
        name.className = "documents-name";
        name.textContent = member.name;
        button.append(kind, " ", name);
        if (member.kind !== "folder") {
          const size = document.createElement("span");
          size.className = "documents-size";
          size.textContent = humanSize(member.size);
          button.append(" ", size);
          button.addEventListener("click", () => choose(member));
        } else {
          button.addEventListener("click", () => show(member.path, 0));
        }
        item.appendChild(button);
        list.appendChild(item);
      }
      more.hidden = data.next === null;
      more.onclick = () => show(data.folder, data.next);
      message.textContent = data.total === 0
        ? "Ni image, ni son, ni vidéo, ni dossier ici." : "";
      const first = list.querySelector("button");
      if (start === 0) (first || dialog.querySelector("button")).focus();
    }

    async function choose(member) {
      message.textContent = `Insertion de ${member.name}…`;
      const answer = await fetch(area.dataset.pickUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRFToken": area.dataset.csrf, "Content-Type": "application/json" },
        body: JSON.stringify({ path: member.path }),
      });
      const data = await answer.json().catch(() => ({}));
      if (answer.status !== 201) {
        message.textContent = `${member.name} refusé : ${data.error || `Erreur ${answer.status}`}`;
        return;
      }
      dialog.close();
      const quill = quillOf();
      insertMedia(quill, range, member.kind, `${data.url}/media`, member.name);
      state.classList.remove("error");
      state.textContent = `${member.name} inséré depuis le porte-documents (aussi en pièce jointe).`;
    }

    function build() {
      dialog = document.createElement("dialog");
      dialog.className = "documents-picker";
      const title = document.createElement("h2");
      title.id = `${area.id}-documents-title`;
      title.textContent = "Insérer depuis le porte-documents";
      dialog.setAttribute("aria-labelledby", title.id);
      where = document.createElement("p");
      where.className = "documents-where";
      up = document.createElement("button");
      up.type = "button";
      up.textContent = "Dossier parent";
      list = document.createElement("ul");
      list.className = "documents-members";
      more = document.createElement("button");
      more.type = "button";
      more.textContent = "Afficher la suite";
      message = document.createElement("p");
      message.setAttribute("aria-live", "polite");
      const close = document.createElement("button");
      close.type = "button";
      close.textContent = "Fermer";
      close.addEventListener("click", () => dialog.close());
      const actions = document.createElement("p");
      actions.className = "documents-actions";
      actions.append(close);
      dialog.append(title, where, up, list, more, message, actions);
      dialog.addEventListener("close", () => quillOf().focus());
      area.form.after(dialog);  // outside the form: its buttons send nothing
    }

    return function () {
      if (area.dataset.saveFirst !== undefined) {
        saveFirst(area, state);
        return;
      }
      range = quillOf().getSelection(true);
      if (!dialog) build();
      dialog.showModal();
      show("/", 0);
    };
  }

  function mediaHandler(area, kind, quillOf, state) {
    return function () {
      const quill = quillOf();
      if (area.dataset.saveFirst !== undefined) {
        saveFirst(area, state);
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
        if (url) insertMedia(quill, range, kind, url, file.name);
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
    handlers.documents = documentsPicker(area, () => quill, state);
    handlers.table = () => {
      const table = quill.getModule("table");
      const range = quill.getSelection(true);
      if (table.getTable(range)[0] !== null) {
        state.textContent = "Le curseur est déjà dans un tableau : ajoutez-y plutôt une ligne ou une colonne.";
        return;
      }
      // Quill makes the cursor's line the first cell: a line with text is split first,
      // so that its text stays a paragraph above the table.
      const [line] = quill.getLine(range.index);
      if (line && line.length() > 1) {
        const end = quill.getIndex(line) + line.length() - 1;
        quill.insertText(end, "\n", "user");
        quill.setSelection(end + 1, 0, "silent");
      }
      table.insertTable(2, 2);
    };
    for (const [name, action] of Object.entries(TABLE_ACTIONS)) {
      handlers[name] = () => {
        quill.focus();  // back to where the cursor was in the table
        quill.getModule("table")[action]();
      };
    }
    quill = new Quill(holder, {
      theme: "snow",
      formats: ["header", "bold", "italic", "underline", "strike", "list", "blockquote",
                "link", "image", "audio", "video",
                "table", "table-row", "table-body", "table-container"],
      modules: { toolbar: { container: bar, handlers }, table: true },
    });
    // The row and column buttons act on the table the cursor is in: elsewhere they
    // are disabled rather than doing nothing. A selection lost to the toolbar (its
    // buttons take the focus) changes nothing: the click goes back to the cursor.
    const tableButtons = Object.keys(TABLE_ACTIONS)
      .map((name) => bar.querySelector(`.ql-${name}`)).filter(Boolean);
    quill.on("editor-change", () => {
      // As Quill's own toolbar reads it (getSelection() would update, and emit, again).
      const [range] = quill.selection.getRange();
      if (range === null) return;
      const [table] = quill.getModule("table").getTable(range);
      for (const button of tableButtons) button.disabled = table === null;
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
