// icmbench report: interactive rate–quality charts, the decoded-image viewer and the
// per-image table. Hand-written, no dependencies, no network: it reads the JSON that the
// page embeds (icm-curves, icm-viewer-data, icm-rows).
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  // The static figures' palette (plotters, reports/src/plot.rs).
  var PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  var BPP = { mean: "mean of per-image bpp", total: "total bits / total pixels" };

  function json(id) {
    var e = document.getElementById(id);
    return e ? JSON.parse(e.textContent) : null;
  }
  function el(ns, tag, attrs, parent, text) {
    var e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function h(tag, attrs, parent, text) { return el(null, tag, attrs, parent, text); }
  function s(tag, attrs, parent, text) { return el(NS, tag, attrs, parent, text); }
  // 4 significant digits, as the report's notes.
  function fmt(v) {
    if (v === null || v === undefined) return "–";
    if (!isFinite(v)) return String(v);
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(3);
    return String(Number(v.toPrecision(4)));
  }
  function fmtQ(q) { return String(q); }

  var tip = h("div", { id: "icm-tip", role: "tooltip" }, document.body);
  tip.hidden = true;
  function showTip(text, x, y) {
    tip.textContent = text;
    tip.hidden = false;
    var w = tip.offsetWidth, hgt = tip.offsetHeight;
    var left = x + 14, top = y + 14;
    if (left + w > window.innerWidth - 4) left = Math.max(4, x - w - 14);
    if (top + hgt > window.innerHeight - 4) top = Math.max(4, y - hgt - 14);
    tip.style.left = left + "px";
    tip.style.top = top + "px";
  }
  function hideTip() { tip.hidden = true; }

  // ---- charts -------------------------------------------------------------------------
  var curves = json("icm-curves");
  var viewerAt = null; // set by the viewer: show a dataset's images nearest a bpp
  var state = { bpp: curves ? curves.bpp : "mean", log: false, db: false };
  var charts = [];

  function ticks(lo, hi, log) {
    if (log) {
      var out = [], e0 = Math.floor(Math.log10(lo)), e1 = Math.ceil(Math.log10(hi));
      var mult = e1 - e0 <= 3 ? [1, 2, 5] : [1];
      for (var e = e0; e <= e1; e++) {
        mult.forEach(function (m) {
          var v = m * Math.pow(10, e);
          if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
        });
      }
      if (out.length >= 2) return out;
    }
    var span = hi - lo || Math.abs(hi) || 1;
    var mag = Math.pow(10, Math.floor(Math.log10(span / 5)));
    var step = [1, 2, 5, 10].map(function (m) { return m * mag; }).filter(function (st) { return span / st <= 6; })[0];
    var res = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) res.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    return res;
  }

  function bppOf(p) { return state.bpp === "total" ? p.bpp_total : p.bpp_mean; }

  function drawChart(box, ds, m, hidden) {
    var W = 400, H = 300, L = 64, R = 14, T = 26, B = 48;
    var db = state.db && m.db_label;
    var yv = function (v) { return db ? -10 * Math.log10(1 - v) : v; };
    var svg = s("svg", { viewBox: "0 0 " + W + " " + H, width: W, height: H, "class": "icm-chart", "data-dataset": ds.name, "data-metric": m.name, role: "img", "aria-label": ds.name + ": " + m.name }, box);
    var lines = [], refs = [];
    ds.series.forEach(function (se, i) {
      if (hidden[se.name]) return;
      var color = PALETTE[i % PALETTE.length];
      var pts = se.points
        .filter(function (p) { return p.v[m.name] !== undefined && isFinite(yv(p.v[m.name])); })
        .map(function (p) { return { x: bppOf(p), y: yv(p.v[m.name]), p: p }; });
      if (se.reference) {
        if (pts.length) refs.push({ se: se, color: color, y: pts[0].y, p: pts[0].p });
        return;
      }
      pts = pts.filter(function (q) { return q.x !== null && q.x !== undefined && q.x > 0; });
      pts.sort(function (a, b) { return a.x - b.x; });
      if (pts.length) lines.push({ se: se, color: color, pts: pts, abnormal: se.abnormal.indexOf(m.name) >= 0 });
    });
    var xs = [], ys = [];
    lines.forEach(function (l) { l.pts.forEach(function (q) { xs.push(q.x); ys.push(q.y); }); });
    refs.forEach(function (r) { ys.push(r.y); });
    s("text", { x: L, y: 16, "font-size": 13, "font-weight": "bold" }, svg, ds.name + ": " + m.name);
    if (!xs.length) {
      s("text", { x: W / 2, y: H / 2, "text-anchor": "middle", "font-size": 12, fill: "#777" }, svg, "no points to show");
      return;
    }
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    var fx;
    if (state.log) {
      var l0 = Math.log10(x0), l1 = Math.log10(x1), pad = (l1 - l0 || 1) * 0.05;
      x0 = Math.pow(10, l0 - pad); x1 = Math.pow(10, l1 + pad);
      fx = function (x) { return L + (Math.log10(x) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0)) * (W - L - R); };
    } else {
      var px = (x1 - x0 || 1) * 0.05;
      x0 = Math.max(0, x0 - px); x1 = x1 + px;
      fx = function (x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
    }
    var py = (y1 - y0 || Math.abs(y1) || 1) * 0.06;
    y0 -= py; y1 += py;
    var fy = function (y) { return T + (y1 - y) / (y1 - y0) * (H - T - B); };
    var grid = s("g", { stroke: "#e4e4e4", "stroke-width": 1 }, svg);
    var labels = s("g", { "font-size": 11, fill: "#333" }, svg);
    ticks(x0, x1, state.log).forEach(function (t) {
      var X = fx(t);
      s("line", { x1: X, x2: X, y1: T, y2: H - B }, grid);
      s("text", { x: X, y: H - B + 15, "text-anchor": "middle" }, labels, fmt(t));
    });
    ticks(y0, y1, false).forEach(function (t) {
      var Y = fy(t);
      s("line", { x1: L, x2: W - R, y1: Y, y2: Y }, grid);
      s("text", { x: L - 5, y: Y + 4, "text-anchor": "end" }, labels, fmt(t));
    });
    s("rect", { x: L, y: T, width: W - L - R, height: H - T - B, fill: "none", stroke: "#888" }, svg);
    s("text", { x: (L + W - R) / 2, y: H - 10, "text-anchor": "middle", "font-size": 11 }, svg,
      "bpp (" + BPP[state.bpp] + (state.log ? ", log" : "") + ")");
    s("text", { x: 14, y: (T + H - B) / 2, "text-anchor": "middle", "font-size": (db ? m.db_label : m.label).length > 34 ? 9 : 11, transform: "rotate(-90 14 " + (T + H - B) / 2 + ")" }, svg,
      db ? m.db_label : m.label);
    var unit = m.unit ? " " + m.unit : "";
    var name = db ? m.name + " (dB)" : m.name;
    refs.forEach(function (r) {
      var Y = fy(r.y);
      var line = s("line", { x1: L, x2: W - R, y1: Y, y2: Y, stroke: r.color, "stroke-width": 2, "stroke-dasharray": "2 3", "data-codec": r.se.name }, svg);
      line.addEventListener("mouseenter", function (ev) { showTip(r.se.name + " (reference row, no codec)\n" + name + " " + fmt(r.y) + (db ? " dB" : unit) + "\n" + r.p.n + " images", ev.clientX, ev.clientY); });
      line.addEventListener("mouseleave", hideTip);
    });
    lines.forEach(function (l) {
      var d = l.pts.map(function (q, k) { return (k ? "L" : "M") + fx(q.x).toFixed(1) + " " + fy(q.y).toFixed(1); }).join(" ");
      s("path", { d: d, fill: "none", stroke: l.color, "stroke-width": 2, "stroke-dasharray": l.abnormal ? "6 3" : null }, svg);
      l.pts.forEach(function (q) {
        var c = s("circle", { cx: fx(q.x).toFixed(1), cy: fy(q.y).toFixed(1), r: 4, fill: l.color, stroke: "#fff", "stroke-width": 1, "data-codec": l.se.name, "data-q": fmtQ(q.p.q) }, svg);
        c.addEventListener("mouseenter", function (ev) {
          c.setAttribute("r", 6);
          showTip(pointText(l, q, name, db ? " dB" : unit), ev.clientX, ev.clientY);
        });
        c.addEventListener("mouseleave", function () { c.setAttribute("r", 4); hideTip(); });
        c.addEventListener("click", function () { if (viewerAt) viewerAt(ds.name, q.p.bpp_mean); });
      });
    });
  }

  function pointText(l, q, name, unit) {
    var p = q.p;
    return l.se.name + "  q " + fmtQ(p.q) + (l.abnormal ? "  († abnormal curve)" : "") +
      "\nbpp " + fmt(p.bpp_mean) + " (mean of per-image bpp)" +
      "\nbpp " + fmt(p.bpp_total) + " (total bits / total pixels)" +
      "\n" + name + " " + fmt(q.y) + unit +
      "\n" + p.n + " images" + (p.failed ? " (" + p.failed + " failed)" : "");
  }

  function redrawAll() {
    charts.forEach(function (c) { c(); });
    document.querySelectorAll(".icm-bar select.bpp").forEach(function (e) { e.value = state.bpp; });
    document.querySelectorAll(".icm-bar input.log").forEach(function (e) { e.checked = state.log; });
    document.querySelectorAll(".icm-bar input.db").forEach(function (e) { e.checked = state.db; });
  }

  function setUpCurves(box) {
    var ds = curves.datasets[Number(box.getAttribute("data-index"))];
    if (!ds) return;
    var hidden = {};
    var bar = h("div", { "class": "icm-bar" }, box);
    var lb = h("label", {}, bar, "bpp: ");
    var sel = h("select", { "class": "bpp" }, lb);
    ["mean", "total"].forEach(function (k) { h("option", { value: k }, sel, BPP[k]); });
    sel.value = state.bpp;
    sel.addEventListener("change", function () { state.bpp = sel.value; redrawAll(); });
    var ll = h("label", {}, bar);
    var log = h("input", { type: "checkbox", "class": "log" }, ll);
    ll.appendChild(document.createTextNode(" log rate axis"));
    log.addEventListener("change", function () { state.log = log.checked; redrawAll(); });
    if (ds.metrics.some(function (m) { return m.db_label; })) {
      var dl = h("label", {}, bar);
      var db = h("input", { type: "checkbox", "class": "db" }, dl);
      dl.appendChild(document.createTextNode(" MS-SSIM in dB (−10·log10(1 − x))"));
      db.addEventListener("change", function () { state.db = db.checked; redrawAll(); });
    }
    h("span", { "class": "note" }, bar, "Hover a point for its values, click it to see the images at that rate; click a codec to hide or show it. Dashed: abnormal (non-monotone) curve; dotted: reference row.");
    var legend = h("div", { "class": "icm-legend" }, box);
    var area = h("div", { "class": "icm-charts" }, box);
    ds.series.forEach(function (se, i) {
      var b = h("button", { type: "button", "class": "icm-key", "data-series": se.name, "aria-pressed": "true" }, legend);
      h("span", { "class": "sw", style: "background:" + PALETTE[i % PALETTE.length] }, b);
      b.appendChild(document.createTextNode(se.name + (se.reference ? " (reference)" : "")));
      b.addEventListener("click", function () {
        hidden[se.name] = !hidden[se.name];
        b.classList.toggle("off", !!hidden[se.name]);
        b.setAttribute("aria-pressed", hidden[se.name] ? "false" : "true");
        draw();
      });
    });
    function draw() {
      hideTip();
      area.textContent = "";
      ds.metrics.forEach(function (m) { drawChart(area, ds, m, hidden); });
    }
    charts.push(draw);
    draw();
  }

  if (curves) document.querySelectorAll(".icm-curves").forEach(setUpCurves);

  // ---- decoded-image viewer -------------------------------------------------------------
  var viewer = json("icm-viewer-data");
  var vbox = document.getElementById("icm-viewer");
  if (viewer && vbox && viewer.datasets.length) setUpViewer();

  function setUpViewer() {
    var v = { ds: 0, img: 0, target: null, view: "full", zoom: 2, width: 300 };
    var bar = h("div", { "class": "icm-bar" }, vbox);
    var dsSel = null;
    if (viewer.datasets.length > 1) {
      var dl = h("label", {}, bar, "dataset: ");
      dsSel = h("select", {}, dl);
      viewer.datasets.forEach(function (d, i) { h("option", { value: i }, dsSel, d.dataset); });
      dsSel.addEventListener("change", function () { v.ds = Number(dsSel.value); v.img = 0; v.target = null; fillImages(); render(); });
    }
    var il = h("label", {}, bar, "image: ");
    var imgSel = h("select", { "class": "image" }, il);
    imgSel.addEventListener("change", function () { v.img = Number(imgSel.value); render(); });
    var rl = h("label", {}, bar, "rate: ");
    var slider = h("input", { type: "range", min: 0, max: 1000, value: 500, "class": "rate" }, rl);
    var rateText = h("span", {}, rl);
    slider.addEventListener("input", function () { v.target = sliderBpp(); render(); });
    var vl = h("label", {}, bar, "show: ");
    var viewSel = h("select", { "class": "view" }, vl);
    h("option", { value: "full" }, viewSel, "whole images (downscaled)");
    h("option", { value: "crop" }, viewSel, "crops at full resolution");
    viewSel.addEventListener("change", function () { v.view = viewSel.value; render(); });
    var sl = h("label", {}, bar, "size: ");
    var sizeSel = h("select", { "class": "size" }, sl);
    [[300, "small"], [480, "as embedded"]].forEach(function (o) { h("option", { value: o[0] }, sizeSel, o[1]); });
    sizeSel.addEventListener("change", function () { v.width = Number(sizeSel.value); render(); });
    var zl = h("label", {}, bar, "zoom: ");
    var zoomSel = h("select", { "class": "zoom" }, zl);
    [1, 2, 3, 4].forEach(function (z) { h("option", { value: z }, zoomSel, z + "×"); });
    zoomSel.value = "2";
    zoomSel.addEventListener("change", function () { v.zoom = Number(zoomSel.value); render(); });
    var grid = h("div", { "class": "icm-shots" }, vbox);

    function range() {
      var b = [];
      viewer.datasets[v.ds].images.forEach(function (im) { im.shots.forEach(function (sh) { if (sh.bpp > 0) b.push(sh.bpp); }); });
      return b.length ? [Math.min.apply(null, b), Math.max.apply(null, b)] : [0.1, 1];
    }
    function sliderBpp() {
      var r = range(), t = Number(slider.value) / 1000;
      return Math.pow(10, Math.log10(r[0]) + t * (Math.log10(r[1]) - Math.log10(r[0])));
    }
    function fillImages() {
      imgSel.textContent = "";
      viewer.datasets[v.ds].images.forEach(function (im, i) { h("option", { value: i }, imgSel, im.image); });
      imgSel.value = String(v.img);
    }
    function nearest(shots) {
      var byCodec = {}, order = [];
      shots.forEach(function (sh) {
        if (sh.fixed || !(sh.bpp > 0)) return;
        if (!byCodec[sh.codec]) { byCodec[sh.codec] = []; order.push(sh.codec); }
        byCodec[sh.codec].push(sh);
      });
      var lt = Math.log(v.target);
      return order.map(function (c) {
        return byCodec[c].reduce(function (best, sh) {
          return Math.abs(Math.log(sh.bpp) - lt) < Math.abs(Math.log(best.bpp) - lt) ? sh : best;
        });
      });
    }
    function card(im, sh, title) {
      var f = h("figure", { "class": "icm-shot", "data-codec": sh.codec, "data-q": sh.quality === null ? "" : fmtQ(sh.quality) }, grid);
      var frame = h("div", { "class": "frame" }, f);
      var crop = v.view === "crop";
      var img = h("img", { src: crop ? sh.crop : sh.full, alt: title + " of " + im.image, "class": crop ? "px" : null }, frame);
      if (crop) {
        img.style.width = im.crop[2] * v.zoom + "px";
      } else {
        img.style.width = Math.min(v.width, im.size[0]) + "px";
        var roi = h("div", { "class": "roi" }, frame);
        roi.style.left = (100 * im.crop[0] / im.size[0]) + "%";
        roi.style.top = (100 * im.crop[1] / im.size[1]) + "%";
        roi.style.width = (100 * im.crop[2] / im.size[0]) + "%";
        roi.style.height = (100 * im.crop[3] / im.size[1]) + "%";
      }
      var cap = h("figcaption", {}, f);
      h("b", {}, cap, title);
      var vals = [];
      if (sh.bpp !== null && sh.bpp !== undefined) vals.push(fmt(sh.bpp) + " bpp");
      sh.metrics.forEach(function (mv) { vals.push(mv[0] + " " + fmt(mv[1])); });
      if (vals.length) cap.appendChild(document.createTextNode(" · " + vals.join(" · ")));
    }
    function render() {
      var d = viewer.datasets[v.ds], im = d.images[v.img];
      if (v.target === null) v.target = sliderBpp();
      rateText.textContent = " nearest to " + fmt(v.target) + " bpp";
      zl.style.display = v.view === "crop" ? "" : "none";
      sl.style.display = v.view === "crop" ? "none" : "";
      grid.textContent = "";
      if (!im) return;
      card(im, im.reference, im.reference.codec);
      im.shots.filter(function (sh) { return sh.fixed; }).forEach(function (sh) { card(im, sh, sh.codec); });
      nearest(im.shots).forEach(function (sh) { card(im, sh, sh.codec + " q " + fmtQ(sh.quality)); });
    }
    viewerAt = function (dataset, bpp) {
      var i = viewer.datasets.map(function (d) { return d.dataset; }).indexOf(dataset);
      if (i < 0 || !(bpp > 0)) return;
      if (i !== v.ds) { v.ds = i; v.img = 0; if (dsSel) dsSel.value = String(i); fillImages(); }
      var r = range();
      slider.value = String(Math.round(1000 * Math.min(1, Math.max(0, (Math.log10(bpp) - Math.log10(r[0])) / (Math.log10(r[1]) - Math.log10(r[0]) || 1)))));
      v.target = bpp;
      render();
      document.getElementById("viewer").scrollIntoView();
    };
    fillImages();
    render();
  }

  // ---- per-image table ---------------------------------------------------------------------
  var rows = json("icm-rows");
  var tbox = document.getElementById("icm-table");
  if (rows && tbox && rows.rows.length) setUpTable();

  function setUpTable() {
    var SHOWN = 500;
    var cols = ["dataset", "image", "codec", "quality", "status", "bpp"].concat(rows.metrics).concat(["error"]);
    var numeric = function (i) { return i === 3 || (i >= 5 && i < cols.length - 1); };
    var t = { sort: -1, desc: false, codec: "", quality: "", text: "", failed: false };
    var bar = h("div", { "class": "icm-bar" }, tbox);
    function distinct(i) {
      var seen = {}, out = [];
      rows.rows.forEach(function (r) { var k = String(r[i]); if (!seen[k]) { seen[k] = 1; out.push(r[i]); } });
      return out;
    }
    var cl = h("label", {}, bar, "codec: ");
    var codecSel = h("select", { "class": "codec" }, cl);
    h("option", { value: "" }, codecSel, "all");
    distinct(2).forEach(function (c) { h("option", { value: c }, codecSel, c); });
    codecSel.addEventListener("change", function () { t.codec = codecSel.value; render(); });
    var ql = h("label", {}, bar, "quality: ");
    var qSel = h("select", { "class": "quality" }, ql);
    h("option", { value: "" }, qSel, "all");
    distinct(3).sort(function (a, b) { return a - b; }).forEach(function (q) { h("option", { value: String(q) }, qSel, fmtQ(q)); });
    qSel.addEventListener("change", function () { t.quality = qSel.value; render(); });
    var fl = h("label", {}, bar, "image contains: ");
    var text = h("input", { type: "search", "class": "text", size: 16 }, fl);
    text.addEventListener("input", function () { t.text = text.value; render(); });
    var xl = h("label", {}, bar);
    var failed = h("input", { type: "checkbox", "class": "failed" }, xl);
    xl.appendChild(document.createTextNode(" failed rows only"));
    failed.addEventListener("change", function () { t.failed = failed.checked; render(); });
    var count = h("span", { "class": "note" }, bar);
    var table = h("table", {}, tbox);
    var head = h("tr", {}, h("thead", {}, table));
    var body = h("tbody", {}, table);
    cols.forEach(function (c, i) {
      var th = h("th", { "data-col": c, title: "sort by " + c }, head, c);
      th.addEventListener("click", function () {
        t.desc = t.sort === i ? !t.desc : false;
        t.sort = i;
        render();
      });
    });
    function render() {
      var list = rows.rows.filter(function (r) {
        return (!t.codec || r[2] === t.codec) && (!t.quality || String(r[3]) === t.quality) &&
          (!t.text || String(r[1]).indexOf(t.text) >= 0) && (!t.failed || r[4] !== "ok");
      });
      if (t.sort >= 0) {
        var i = t.sort, sign = t.desc ? -1 : 1;
        list.sort(function (a, b) {
          var x = a[i], y = b[i];
          if (x === null || x === undefined) return y === null || y === undefined ? 0 : 1;
          if (y === null || y === undefined) return -1;
          return sign * (numeric(i) ? x - y : String(x).localeCompare(String(y)));
        });
      }
      head.querySelectorAll("th").forEach(function (th, k) { th.textContent = cols[k] + (k === t.sort ? (t.desc ? " ▼" : " ▲") : ""); });
      body.textContent = "";
      list.slice(0, SHOWN).forEach(function (r) {
        var tr = h("tr", { "class": r[4] === "ok" ? null : "failed" }, body);
        r.forEach(function (x, k) {
          var shown = numeric(k) && k !== 3 ? fmt(x) : x === null ? "" : String(x);
          h("td", { "class": k === cols.length - 1 ? "err" : numeric(k) ? null : "txt" }, tr, shown);
        });
      });
      count.textContent = list.length + " of " + rows.rows.length + " rows" + (list.length > SHOWN ? " (the first " + SHOWN + " shown; refine the filters)" : "") +
        (rows.left_out ? "; " + rows.left_out + " more rows are in results.csv only" : "");
    }
    render();
  }
})();
