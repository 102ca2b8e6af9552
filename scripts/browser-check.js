// Loaded first in a test copy of report.html by scripts/browser-check.sh (never part of a
// report). It records every error, then drives the page as a person would: hovers a
// point, clicks a legend entry, flips the switches, moves the viewer's rate slider, waits
// for every embedded image to load, sorts the per-image table. The results go into
// <pre id="icm-test-result"> as JSON, which the harness test reads from the dumped DOM.
// With #shot=NAME in the URL it only arranges the page for a screenshot.
(function () {
  "use strict";
  var errors = [];
  window.addEventListener("error", function (e) { errors.push("error: " + e.message + " at " + e.filename + ":" + e.lineno); });
  window.addEventListener("unhandledrejection", function (e) { errors.push("unhandled rejection: " + e.reason); });
  var consoleError = console.error;
  console.error = function () {
    errors.push("console.error: " + Array.prototype.join.call(arguments, " "));
    consoleError.apply(console, arguments);
  };
  var params = {};
  location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
    var p = kv.split("=");
    if (p[0]) params[p[0]] = decodeURIComponent(p[1] || "");
  });
  var codec = params.codec || "webp", q = params.q || "30", metric = params.metric || "psnr-rgb";

  function point() {
    return document.querySelector('.icm-curves svg.icm-chart[data-metric="' + metric + '"] circle[data-codec="' + codec + '"][data-q="' + q + '"]');
  }
  function hover(c) {
    var b = c.getBoundingClientRect();
    c.dispatchEvent(new MouseEvent("mouseenter", { clientX: b.left + b.width / 2, clientY: b.top + b.height / 2 }));
    var tip = document.getElementById("icm-tip");
    return tip && !tip.hidden ? tip.textContent : null;
  }
  // Whether an image decodes: loaded with a size, and drawn onto a canvas (which decodes it
  // then and there) it leaves opaque pixels (JPEG has no transparency; a broken image
  // draws nothing).
  var canvas = document.createElement("canvas");
  canvas.width = canvas.height = 4;
  var ctx = canvas.getContext("2d", { willReadFrequently: true });
  function decodes(img) {
    if (!img.complete || !img.naturalWidth) return false;
    ctx.clearRect(0, 0, 4, 4);
    try {
      ctx.drawImage(img, 0, 0, 4, 4);
    } catch (e) {
      return false;
    }
    var px = ctx.getImageData(0, 0, 4, 4).data;
    for (var k = 3; k < px.length; k += 4) if (px[k] !== 255) return false;
    return true;
  }
  function change(el, value) {
    if (el.type === "checkbox") el.checked = value; else el.value = value;
    el.dispatchEvent(new Event(el.type === "range" || el.type === "search" ? "input" : "change"));
  }
  function cards() {
    return Array.prototype.map.call(document.querySelectorAll("#icm-viewer .icm-shot"), function (f) {
      return f.getAttribute("data-codec") + (f.getAttribute("data-q") ? " q" + f.getAttribute("data-q") : "");
    });
  }
  // Every embedded image as an <img> added before the load event, which then waits for
  // them: at load, each has decoded (naturalWidth > 0) or failed.
  var embedded = [];
  function embedAll() {
    var data = document.getElementById("icm-viewer-data");
    if (!data) return;
    var box = document.createElement("div");
    box.style.display = "none";
    JSON.parse(data.textContent).datasets.forEach(function (d) {
      d.images.forEach(function (im) {
        [im.reference].concat(im.shots).forEach(function (s) {
          [s.full, s.crop].forEach(function (u) {
            var img = document.createElement("img");
            img.src = u;
            box.appendChild(img);
            embedded.push(img);
          });
        });
      });
    });
    document.body.appendChild(box);
  }

  // Headless screenshots show the top of the page: everything above the section shot
  // (its heading kept) is hidden rather than scrolled past.
  function screenshot(name) {
    var target = { curves: ".icm-curves", viewer: "#viewer", crops: "#viewer", table: "#per-image", top: null }[name];
    var el = target && document.querySelector(target);
    if (el) {
      var first = /^H[1-6]$/.test((el.previousElementSibling || {}).tagName) ? el.previousElementSibling : el;
      for (var e = first.previousElementSibling; e; e = e.previousElementSibling) {
        if (e.tagName !== "SCRIPT") e.style.display = "none";
      }
    }
    if (name === "curves") {
      var c = point();
      if (c) hover(c);
    }
    if (name === "viewer" || name === "crops") {
      var s = document.querySelector("#icm-viewer input.rate");
      if (s) change(s, params.rate || "300");
      var view = document.querySelector("#icm-viewer select.view");
      if (view && name === "crops") change(view, "crop");
    }
    if (name === "table") {
      var th = document.querySelector('#icm-table th[data-col="' + metric + '"]');
      if (th) th.click();
    }
  }

  function checks() {
    var r = { errors: errors };
    var c = point();
    r.point_found = !!c;
    r.tip = c ? hover(c) : null;
    var box = c ? c.closest(".icm-curves") : document.querySelector(".icm-curves");
    var sel = '.icm-chart circle[data-codec="' + codec + '"]';
    r.circles_before = box ? box.querySelectorAll(sel).length : 0;
    var key = box && box.querySelector('.icm-key[data-series="' + codec + '"]');
    if (key) key.click();
    r.circles_hidden = box ? box.querySelectorAll(sel).length : -1;
    if (key) key.click();
    r.circles_shown = box ? box.querySelectorAll(sel).length : -1;
    var xlabel = function () {
      var t = box && box.querySelector("svg.icm-chart text[text-anchor=middle]:last-of-type");
      return Array.prototype.map.call(box ? box.querySelectorAll("svg.icm-chart") : [], function (s) {
        return Array.prototype.map.call(s.querySelectorAll("text"), function (x) { return x.textContent; }).join("|");
      })[0] || (t ? t.textContent : "");
    };
    var bppSel = box && box.querySelector("select.bpp");
    if (bppSel) change(bppSel, "total");
    r.tip_total = point() ? hover(point()) : null;
    if (bppSel) change(bppSel, "mean");
    var log = box && box.querySelector("input.log");
    if (log) change(log, true);
    r.texts_log = xlabel();
    if (log) change(log, false);
    var db = box && box.querySelector("input.db");
    r.db_switch = !!db;
    if (db) change(db, true);
    r.db_labels = Array.prototype.map.call(document.querySelectorAll('svg.icm-chart[data-metric^="ms-ssim"] text'), function (t) { return t.textContent; });
    if (db) change(db, false);
    // Viewer.
    var slider = document.querySelector("#icm-viewer input.rate");
    r.viewer = !!slider;
    if (slider) {
      change(slider, "0");
      r.cards_low = cards();
      change(slider, "1000");
      r.cards_high = cards();
      change(document.querySelector("#icm-viewer select.view"), "crop");
      r.crop_widths = Array.prototype.map.call(document.querySelectorAll("#icm-viewer img"), function (i) { return i.style.width; });
      change(document.querySelector("#icm-viewer select.view"), "full");
    }
    r.embedded_images = embedded.length;
    r.embedded_decoded = embedded.filter(decodes).length;
    // Per-image table.
    var status = document.querySelector("#icm-table .icm-bar .note");
    r.table_status = status ? status.textContent : null;
    var bppHead = document.querySelector('#icm-table th[data-col="bpp"]');
    if (bppHead) bppHead.click();
    var firstBpp = function () {
      var td = document.querySelector("#icm-table tbody tr td:nth-child(6)");
      return td ? Number(td.textContent) : null;
    };
    r.bpp_ascending_first = firstBpp();
    if (bppHead) bppHead.click();
    r.bpp_descending_first = firstBpp();
    var codecSel = document.querySelector("#icm-table select.codec");
    if (codecSel) change(codecSel, codec);
    r.table_status_filtered = status ? status.textContent : null;
    if (codecSel) change(codecSel, "");
    // The viewer's images as shown now: Chromium loads data: URLs at once (no task to wait
    // for). Everything here is synchronous, so the result is in the page before --dump-dom
    // reads it.
    var shown = Array.prototype.slice.call(document.querySelectorAll("#icm-viewer img"));
    r.shown_images = shown.length;
    r.shown_decoded = shown.filter(decodes).length;
    return r;
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!params.shot) embedAll();
  });
  window.addEventListener("load", function () {
    if (params.shot) { screenshot(params.shot); return; }
    // The result is written whatever happens, so a failing check shows its error.
    var r;
    try {
      r = checks();
    } catch (e) {
      errors.push("check failed: " + (e && e.stack ? e.stack : e));
      r = {};
    }
    r.errors = errors;
    var pre = document.createElement("pre");
    pre.id = "icm-test-result";
    pre.textContent = JSON.stringify(r);
    document.body.appendChild(pre);
  });
})();
