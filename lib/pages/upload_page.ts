/**
 * upload_page.ts — the script and style that turn the upload form into an
 * upload queue: drag and drop, one request per file with a progress bar,
 * bytes and speed, a Cancel button, and a result (stored name and link, or
 * why not) per file. Without script the plain form posts as before.
 *
 * The script is inline and allowed by its hash (CSP Level 2 §4.2.2), so the
 * page keeps the dynamic pages' `default-src 'none'` and makes no request
 * but its own uploads (`connect-src 'self'`).
 */

import { createHash } from "node:crypto";
import { PAGE_HEADERS } from "./page.ts";

/** UPLOAD_PARALLEL is how many files the page sends at once; the others wait their turn. */
export const UPLOAD_PARALLEL = 2;

/**
 * UPLOAD_STYLE styles the drop zone and the queue. Buttons and links in it
 * are at least 2.75rem (44 px) high, well over the 24 px WCAG 2.2 §2.5.8 asks.
 */
export const UPLOAD_STYLE = `
.drop{border:2px dashed var(--border);border-radius:12px;padding:1rem;margin:0 0 .6rem}
.drop.over{border-color:var(--accent);background:var(--surface)}
.drop p{margin:.5rem 0 0}
ul.queue{list-style:none;margin:0 0 1rem;padding:0}
ul.queue li{background:var(--surface);border:1px solid var(--border);border-radius:10px;
padding:.6rem .8rem;margin:0 0 .6rem;display:grid;grid-template-columns:1fr auto;gap:.2rem .8rem;align-items:center}
ul.queue .fname{font-weight:600;overflow-wrap:anywhere}
ul.queue progress{grid-column:1/-1;width:100%;height:1rem}
ul.queue .info{color:var(--muted);font-size:.9rem;overflow-wrap:anywhere}
ul.queue li.ok .info{color:var(--fg)}
ul.queue li.err .info{color:var(--danger);font-weight:600}
ul.queue button{margin:0;min-height:2.75rem;background:none;color:var(--accent);border:1px solid currentColor}
ul.queue a{display:inline-block;min-height:1.5rem}
ul.results{padding-left:1.2rem}ul.results li{margin:.3rem 0;overflow-wrap:anywhere}
.err-text{color:var(--danger);font-weight:600}
`.replaceAll("\n", "");

/**
 * UPLOAD_SCRIPT runs on the list page. It reads the limit from the form's
 * `data-max-bytes`, posts each file alone as `multipart/form-data` with
 * `Accept: application/json`, and shows the server's per-file answer.
 */
export const UPLOAD_SCRIPT = `(() => {
  "use strict";
  const form = document.getElementById("upload-form");
  const input = document.getElementById("file");
  const drop = document.getElementById("drop");
  const queue = document.getElementById("queue");
  if (!form || !input || !drop || !queue || !window.XMLHttpRequest || !window.FormData) return;
  const maxBytes = Number(form.dataset.maxBytes);
  const waiting = [];
  let running = 0, stored = 0;

  function size(bytes) {
    if (bytes < 1024) return Math.round(bytes) + " B";
    const units = ["KiB", "MiB", "GiB", "TiB"];
    let value = bytes / 1024, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
    return value.toFixed(value < 10 ? 1 : 0) + " " + units[unit];
  }
  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function add(file) {
    const item = element("li", "pending");
    const name = element("span", "fname", file.name);
    const cancel = element("button", "cancel", "Cancel");
    cancel.type = "button";
    cancel.setAttribute("aria-label", "Cancel " + file.name);
    const bar = element("progress");
    bar.max = Math.max(file.size, 1);
    bar.value = 0;
    bar.setAttribute("aria-label", "Progress of " + file.name);
    const info = element("span", "info", "Waiting");
    item.append(name, cancel, bar, info);
    queue.append(item);
    const job = { file, item, info, bar, cancel, xhr: null, done: false };
    cancel.addEventListener("click", () => {
      if (job.xhr) job.xhr.abort();
      else finish(job, false, "Cancelled before it started");
    });
    if (file.size > maxBytes) {
      finish(job, false, "Too large: the limit is " + size(maxBytes) + " per file (this one is " + size(file.size) + ")");
      return;
    }
    waiting.push(job);
    next();
  }

  function next() {
    while (running < ${UPLOAD_PARALLEL} && waiting.length > 0) {
      const job = waiting.shift();
      if (!job.done) send(job);
    }
  }

  function send(job) {
    running++;
    const xhr = new XMLHttpRequest();
    job.xhr = xhr;
    const started = performance.now();
    job.item.className = "sending";
    job.info.textContent = "Starting";
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      const seconds = Math.max((performance.now() - started) / 1000, 0.001);
      job.bar.value = event.loaded;
      job.info.textContent = size(event.loaded) + " of " + size(job.file.size) + " · " +
        size(event.loaded / seconds) + "/s";
    });
    xhr.addEventListener("load", () => {
      let answer = null;
      try { answer = JSON.parse(xhr.responseText); } catch { /* not JSON: a proxy's page */ }
      const result = answer && answer.files && answer.files[0];
      if (xhr.status === 201 && result && result.url) finish(job, true, result);
      else finish(job, false, (result && result.error) || (answer && answer.error) ||
        "The server answered " + xhr.status + " " + xhr.statusText);
    });
    xhr.addEventListener("error", () => finish(job, false, "The connection failed; try again"));
    xhr.addEventListener("abort", () => finish(job, false, "Cancelled"));
    const data = new FormData();
    data.append("file", job.file, job.file.name);
    xhr.send(data);
  }

  function finish(job, ok, result) {
    if (job.done) return;
    job.done = true;
    job.cancel.remove();
    job.item.className = ok ? "ok" : "err";
    job.info.textContent = "";
    if (ok) {
      job.bar.value = job.bar.max;
      const link = element("a", "", result.name);
      link.href = result.url;
      job.info.append("Stored as ", link, " (" + size(result.size) + ")");
      if (result.name !== job.file.name) job.info.append(" — renamed: that name was taken");
    } else {
      job.info.textContent = result;
    }
    if (ok) stored++;
    if (job.xhr) { running--; next(); }
    if (running === 0 && waiting.length === 0 && stored > 0) refresh();
  }

  // The file table and the room note, fetched again once the queue is idle.
  function refresh() {
    stored = 0;
    fetch(form.action, { headers: { accept: "text/html" } })
      .then((response) => response.text())
      .then((text) => {
        const fresh = new DOMParser().parseFromString(text, "text/html");
        for (const id of ["files", "room"]) {
          const now = document.getElementById(id), next = fresh.getElementById(id);
          if (now && next) now.replaceWith(next);
        }
      })
      .catch(() => { /* the list stays as it was; the links above still work */ });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    for (const file of input.files) add(file);
    input.value = "";
  });
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (event) => { event.preventDefault(); drop.classList.add("over"); });
  }
  for (const type of ["dragleave", "drop"]) {
    drop.addEventListener(type, (event) => { event.preventDefault(); drop.classList.remove("over"); });
  }
  drop.addEventListener("drop", (event) => {
    for (const file of event.dataTransfer.files) add(file);
  });
  drop.querySelector(".hint").hidden = false;
})();`;

/**
 * UPLOAD_PAGE_POLICY is the list page's Content-Security-Policy: the
 * dynamic pages' policy, plus this one script by its hash and requests to
 * this origin only.
 */
export const UPLOAD_PAGE_POLICY = `${PAGE_HEADERS["content-security-policy"]}; script-src 'sha256-${
  createHash("sha256").update(UPLOAD_SCRIPT, "utf8").digest("base64")
}'; connect-src 'self'`;
