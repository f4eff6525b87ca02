// File manager (issue 8): uploads with a progress bar per file and a total one,
// drag and drop (on the dashed box or anywhere on the file list), a question when a
// name is taken ("Remplacer", "Garder les deux (renommé)", "Ignorer", per file or for
// all, asked before any byte is sent: issue 20), "select all", a confirmation before
// deleting, the folder picker.
// Each file is the raw body of one PUT (XHR, for its upload progress events); the
// server streams it into the store. The page works without this script except for
// uploads.
"use strict";

const PARALLEL_UPLOADS = 3;

// Which of these files' names are taken in the folder: a Map from the name as sent
// to { name, replaceable }. An unreadable answer means "none known": each upload then
// meets the name on its own and says so.
async function takenNames(zone, files) {
  try {
    const answer = await fetch(zone.dataset.takenUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": zone.dataset.csrf },
      body: JSON.stringify({ names: files.map((file) => file.name) }),
    });
    if (!answer.ok) return new Map();
    const found = await answer.json();
    return new Map(found.taken.map((t) => [t.asked, t]));
  } catch (e) {
    return new Map();
  }
}

// Ask what to do with one taken name; resolves to "replace", "keep" or "skip" and
// whether the choice is for every conflict left (``left``: how many after this one).
function askCollision(met, left) {
  const box = document.getElementById("collision");
  const text = document.getElementById("collision-text");
  const forAll = document.getElementById("collision-for-all");
  const all = document.getElementById("collision-all");
  const replace = box.querySelector('[data-choice="replace"]');
  text.textContent = met.replaceable
    ? `« ${met.name} » existe déjà dans ce dossier. Que faire ?`
    : `« ${met.name} » existe déjà dans ce dossier et ne peut pas être remplacé `
      + "(un dossier, ou un fichier que vous ne pouvez pas modifier). Que faire ?";
  replace.hidden = !met.replaceable;
  all.checked = false;
  forAll.hidden = left === 0;
  document.getElementById("collision-all-text").textContent = left === 1
    ? "Faire de même pour l'autre conflit"
    : `Faire de même pour les ${left} autres conflits`;
  box.hidden = false;
  (met.replaceable ? replace : box.querySelector('[data-choice="keep"]')).focus();
  return new Promise((resolve) => {
    const buttons = Array.from(box.querySelectorAll("button[data-choice]"));
    const chosen = (event) => {
      for (const button of buttons) button.removeEventListener("click", chosen);
      box.hidden = true;
      resolve({ choice: event.currentTarget.dataset.choice, forAll: all.checked });
    };
    for (const button of buttons) button.addEventListener("click", chosen);
  });
}

// The choice for each file whose name is taken, asked one conflict at a time; a
// choice "for all" answers the rest (a "Remplacer" for all still asks about a name
// that cannot be replaced).
async function resolveCollisions(zone, files) {
  const met = await takenNames(zone, files);
  const choices = new Map();
  const conflicts = files.filter((file) => met.has(file.name));
  let standing = null;
  for (let i = 0; i < conflicts.length; i += 1) {
    const found = met.get(conflicts[i].name);
    if (standing && (standing !== "replace" || found.replaceable)) {
      choices.set(conflicts[i], standing);
    } else {
      const answer = await askCollision(found, conflicts.length - i - 1);
      choices.set(conflicts[i], answer.choice);
      if (answer.forAll) standing = answer.choice;
    }
  }
  return choices;
}

async function uploadFiles(zone, fileList) {
  const files = Array.from(fileList);
  const choices = await resolveCollisions(zone, files);
  const list = document.getElementById("upload-list");
  const total = document.getElementById("upload-total");
  const totalBar = document.getElementById("total-progress");
  const totalPercent = document.getElementById("total-percent");
  const jobs = files.map((file) => {
    const item = document.createElement("li");
    item.className = "upload";
    const name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", file.name);
    const state = document.createElement("span");
    state.className = "upload-state";
    state.textContent = "En attente…";
    item.append(name, " ", bar, " ", state);
    list.append(item);
    return { file, item, bar, state, loaded: 0, choice: choices.get(file) };
  });
  total.hidden = false;
  const size = jobs.reduce((sum, job) => sum + job.file.size, 0) || 1;
  const showTotal = () => {
    const done = jobs.reduce((sum, job) => sum + job.loaded, 0);
    const percent = Math.floor((100 * done) / size);
    totalBar.value = percent;
    totalPercent.textContent = `${percent} %`;
  };
  const send = (job) => new Promise((resolve) => {
    if (job.choice === "skip") {
      job.loaded = job.file.size;
      job.state.textContent = "Ignoré (le nom est déjà pris)";
      job.item.classList.add("skipped");
      showTotal();
      resolve();
      return;
    }
    const xhr = new XMLHttpRequest();
    const mode = { replace: "?remplacer=1", keep: "?garder=1" }[job.choice] || "";
    xhr.open("PUT", `${zone.dataset.uploadUrl}/${encodeURIComponent(job.file.name)}${mode}`);
    xhr.setRequestHeader("X-CSRFToken", zone.dataset.csrf);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    job.state.textContent = "Envoi…";
    xhr.upload.addEventListener("progress", (event) => {
      if (!event.lengthComputable) return;
      job.loaded = Math.min(event.loaded, job.file.size);
      job.bar.value = Math.floor((100 * event.loaded) / (event.total || 1));
      showTotal();
    });
    xhr.addEventListener("load", () => {
      job.loaded = job.file.size;
      try {
        if (xhr.status === 201) {
          job.bar.value = 100;
          let stored = {};
          try { stored = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
          let said = job.choice === "replace" ? "Remplacé" : "Envoyé";
          if (stored.name && stored.name !== job.file.name) said += ` sous « ${stored.name} »`;
          job.state.textContent = stored.pending ? `${said} (en attente de publication)` : said;
          job.item.classList.add("done");
        } else {
          let reason = `Erreur ${xhr.status}`;
          try { reason = JSON.parse(xhr.responseText).error || reason; } catch (e) { /* not JSON */ }
          job.state.textContent = `Refusé : ${reason}`;
          job.item.classList.add("refused");
        }
        showTotal();
      } finally {
        resolve();  // whatever happened, the queue goes on and the listing is refreshed
      }
    });
    const cut = () => {
      job.loaded = job.file.size;
      job.state.textContent = "Refusé : la connexion a été coupée.";
      job.item.classList.add("refused");
      showTotal();
      resolve();
    };
    xhr.addEventListener("error", cut);
    xhr.addEventListener("abort", cut);
    xhr.addEventListener("timeout", cut);
    xhr.send(job.file);
  });
  const queue = jobs.slice();
  const worker = async () => {
    while (queue.length) await send(queue.shift());
  };
  const workers = [];
  for (let i = 0; i < PARALLEL_UPLOADS; i += 1) workers.push(worker());
  return Promise.all(workers).then(refreshListing);
}

// The listing and the quota bar again, without reloading (the upload report stays).
// A busy server (503) or a dropped connection gets two more tries, a second then two
// apart; after that the page says to reload it rather than show a stale listing.
async function refreshListing() {
  let fresh = null;
  for (let attempt = 0; attempt < 3 && !fresh; attempt += 1) {
    if (attempt) await new Promise((wake) => setTimeout(wake, 1000 * attempt));
    try {
      const answer = await fetch(window.location.href, { credentials: "same-origin" });
      if (answer.ok) fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
    } catch (e) { /* the connection was cut: tried again */ }
  }
  if (fresh) {
    for (const id of ["listing", "quota-area"]) {
      const now = document.getElementById(id);
      const next = fresh.getElementById(id);
      if (now && next) now.replaceWith(document.importNode(next, true));
    }
  } else {
    const note = document.createElement("p");
    note.className = "warning";
    note.setAttribute("role", "alert");
    note.textContent = "La liste des fichiers n'a pas pu être actualisée : rechargez la page.";
    document.getElementById("upload-total").after(note);
  }
  document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
  bindSelectAll();
}

// Files dragged from the computer (not text or a link dragged inside the page).
function carriesFiles(event) {
  return Boolean(event.dataTransfer && Array.from(event.dataTransfer.types).includes("Files"));
}

// Both the dashed box and the whole file list take dropped files, into this folder.
function bindUploads() {
  const zone = document.getElementById("dropzone");
  if (!zone) return;
  const input = document.getElementById("file-input");
  input.addEventListener("change", () => {
    if (input.files.length) uploadFiles(zone, input.files).then(() => { input.value = ""; });
  });
  const targets = [zone, document.getElementById("listing-form")].filter(Boolean);
  for (const target of targets) {
    target.addEventListener("dragover", (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      target.classList.add("dragging");
    });
    target.addEventListener("dragleave", (event) => {
      if (!target.contains(event.relatedTarget)) target.classList.remove("dragging");
    });
    target.addEventListener("drop", (event) => {
      target.classList.remove("dragging");
      if (!carriesFiles(event) || !event.dataTransfer.files.length) return;
      event.preventDefault();
      uploadFiles(zone, event.dataTransfer.files);
    });
  }
}

function bindSelectAll() {
  const all = document.getElementById("select-all");
  if (!all) return;
  all.addEventListener("change", () => {
    for (const box of document.querySelectorAll('#listing input[name="items"]')) {
      box.checked = all.checked;
    }
  });
}

function bindConfirm() {
  for (const button of document.querySelectorAll("button[data-confirm]")) {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  }
}

// The picker: a "Choisir…" button (class "pick") fills the field named by its
// data-target with a folder the user may add to, or, with data-files, with a file
// or folder to import (starting at data-start).
function bindPicker() {
  const picker = document.getElementById("picker");
  if (!picker) return;
  const path = document.getElementById("picker-path");
  const list = document.getElementById("picker-list");
  const choose = document.getElementById("picker-choose");
  let current = null;
  let opener = null;
  const done = (where) => {
    document.getElementById(opener.dataset.target).value = where;
    picker.hidden = true;
  };
  const entry = (label, onClick, icon) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    if (icon) {
      const mark = document.createElement("span");
      mark.className = `icon ${icon}`;
      mark.setAttribute("aria-hidden", "true");
      button.append(mark);
    }
    button.append(label);
    button.addEventListener("click", onClick);
    item.append(button);
    return item;
  };
  const show = async (where) => {
    const files = opener.dataset.files === "1";
    const url = `${opener.dataset.url}?dans=${encodeURIComponent(where)}${files ? "&fichiers=1" : ""}`;
    const answer = await fetch(url, { credentials: "same-origin" });
    if (!answer.ok) return;
    current = await answer.json();
    path.textContent = current.crumbs.length
      ? current.crumbs.map((c) => c.name).join(" › ") : current.name;
    list.replaceChildren();
    if (current.where) {
      const up = current.crumbs.length > 1 ? current.crumbs[current.crumbs.length - 2].where : "";
      list.append(entry("↑ Dossier parent", () => show(up)));
    }
    for (const folder of current.folders) {
      list.append(entry(folder.name, () => show(folder.where), "k-dos"));
    }
    for (const file of current.files || []) {
      list.append(entry(file.name, () => done(file.where), "k-fic"));
    }
    // A folder is chosen as a destination where the user may add, as an import
    // source when it is not a whole space.
    choose.disabled = files ? current.crumbs.length < 2 : !current.writable;
  };
  for (const button of document.querySelectorAll("button.pick")) {
    button.addEventListener("click", () => {
      opener = button;
      picker.hidden = false;
      show(button.dataset.start || "");
    });
  }
  document.getElementById("picker-cancel").addEventListener("click", () => { picker.hidden = true; });
  choose.addEventListener("click", () => {
    if (current && !choose.disabled) done(current.where);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  bindUploads();
  bindSelectAll();
  bindConfirm();
  bindPicker();
});
