// netsift web analyzer: drag-and-drop upload and live analysis progress.
// Written for netsift; no third-party code. Loaded as /static/app.js (the
// Content-Security-Policy allows no inline script).
"use strict";

function fmtBytes(n) {
  if (n < 1024) return n + " B";
  if (n < 1048576) return (n / 1024).toFixed(1) + " KiB";
  if (n < 1073741824) return (n / 1048576).toFixed(1) + " MiB";
  return (n / 1073741824).toFixed(2) + " GiB";
}

// Upload a dropped file as the raw request body; the server answers with
// the capture's page, where the analysis progress shows.
function uploadRaw(file) {
  const bar = document.getElementById("upload-progress");
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/api/upload?name=" + encodeURIComponent(file.name));
  if (bar) {
    bar.hidden = false;
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) bar.value = (100 * e.loaded) / e.total;
    };
  }
  xhr.onload = () => {
    let answer = {};
    try { answer = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
    if (xhr.status === 201 && typeof answer.url === "string" && answer.url.startsWith("/captures/")) {
      window.location.assign(answer.url);
    } else {
      alertBox(answer.error || ("upload failed: HTTP " + xhr.status));
    }
  };
  xhr.onerror = () => alertBox("upload failed");
  xhr.send(file);
}

function alertBox(msg) {
  const drop = document.getElementById("drop");
  if (!drop) return;
  let p = document.getElementById("upload-error");
  if (!p) {
    p = document.createElement("p");
    p.id = "upload-error";
    p.className = "error";
    drop.after(p);
  }
  p.textContent = msg; // text, never markup
}

function setupDrop() {
  const drop = document.getElementById("drop");
  if (!drop) return;
  ["dragenter", "dragover"].forEach((ev) =>
    drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((ev) =>
    drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
  drop.addEventListener("drop", (e) => {
    const files = e.dataTransfer && e.dataTransfer.files;
    if (files && files.length > 0) uploadRaw(files[0]);
  });
}

// While a capture is analysed, poll its status and reload when done.
function setupJob() {
  const job = document.getElementById("job");
  if (!job) return;
  const id = job.dataset.capture;
  const bar = document.getElementById("job-progress");
  const text = document.getElementById("job-text");
  const tick = () => {
    fetch("/api/captures/" + encodeURIComponent(id) + "/status", { credentials: "same-origin" })
      .then((r) => r.json())
      .then((s) => {
        if (s.status === "done" || s.status === "failed") {
          window.location.reload();
          return;
        }
        if (bar) { bar.max = Math.max(1, s.size); bar.value = s.bytes_read; }
        if (text) text.textContent = fmtBytes(s.bytes_read) + " of " + fmtBytes(s.size);
        setTimeout(tick, 400);
      })
      .catch(() => setTimeout(tick, 2000));
  };
  setTimeout(tick, 200);
}

document.addEventListener("DOMContentLoaded", () => {
  setupDrop();
  setupJob();
});
