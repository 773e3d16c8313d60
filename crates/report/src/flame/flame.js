// Interactivity of a flame graph drawing: hover details, click to zoom, regexp search
// with the matched share, reset and flip. Works in a standalone SVG document and in an
// SVG inlined in an HTML page; it reads everything from the drawn elements.
(function () {
  "use strict";
  var script = document.currentScript;
  var svg = script && script.closest ? script.closest("svg") : null;
  if (!svg) {
    svg = document.querySelector("svg.flame");
  }
  if (!svg) {
    return;
  }
  var num = function (el, name) {
    return parseFloat(el.getAttribute(name));
  };
  var top = num(svg, "data-top");
  var bottom = num(svg, "data-bottom");
  var fh = num(svg, "data-fh");
  var pad = num(svg, "data-pad");
  var width = num(svg, "width");
  var full = width - 2 * pad;
  var icicle = svg.getAttribute("data-orient") === "icicle";
  var details = svg.querySelector("#details");
  var matchedSvg = svg.querySelector("#matched");
  var matchedHtml = document.getElementById("flame-matched");

  var groups = Array.prototype.slice.call(svg.querySelectorAll("#frames > g"));
  var n = groups.length;
  var rects = [], texts = [], names = [], shorts = [], stats = [], fills = [];
  var ox = new Float64Array(n), ow = new Float64Array(n), oy = new Float64Array(n);
  var depth = new Int32Array(n);
  var i;
  for (i = 0; i < n; i++) {
    var g = groups[i];
    var r = g.querySelector("rect");
    var title = g.querySelector("title");
    var t = title ? title.textContent : "";
    var nl = t.indexOf("\n");
    rects.push(r);
    texts.push(g.querySelector("text"));
    names.push(nl >= 0 ? t.substring(0, nl) : t);
    shorts.push(g.getAttribute("data-s"));
    stats.push(nl >= 0 ? t.substring(nl + 1) : "");
    fills.push(r.getAttribute("fill"));
    ox[i] = num(r, "x");
    ow[i] = num(r, "width");
    oy[i] = num(r, "y");
    depth[i] = icicle ? Math.round((oy[i] - top) / fh) : Math.round((bottom - oy[i]) / fh) - 1;
    g.setAttribute("data-i", String(i));
  }

  var fitLabel = function (j, w) {
    var fit = Math.floor((w - 6) / (12 * 0.59));
    if (fit < 3) {
      return "";
    }
    var name = names[j];
    if (name.length > fit && shorts[j]) {
      name = shorts[j];
    }
    return name.length <= fit ? name : name.substring(0, fit - 2) + "..";
  };

  var place = function (j, x, w) {
    var r = rects[j];
    r.setAttribute("x", x.toFixed(2));
    r.setAttribute("width", w.toFixed(2));
    var label = fitLabel(j, w);
    var t = texts[j];
    if (!t && label) {
      t = document.createElementNS("http://www.w3.org/2000/svg", "text");
      t.setAttribute("y", String(num(r, "y") + 11.5));
      groups[j].appendChild(t);
      texts[j] = t;
    }
    if (t) {
      t.setAttribute("x", (x + 3).toFixed(2));
      t.textContent = label;
    }
  };

  var zoomed = -1;
  var zoom = function (k) {
    if (k <= 0) {
      reset();
      return;
    }
    zoomed = k;
    var tx = ox[k], tw = ow[k], td = depth[k];
    var scale = full / tw;
    var eps = 0.0001;
    for (var j = 0; j < n; j++) {
      var g = groups[j];
      var x0 = ox[j], x1 = ox[j] + ow[j];
      g.classList.remove("parent");
      if (depth[j] < td) {
        if (x0 <= tx + eps && x1 >= tx + tw - eps) {
          g.classList.remove("hidden");
          g.classList.add("parent");
          place(j, pad, full);
        } else {
          g.classList.add("hidden");
        }
      } else if (x0 >= tx - eps && x1 <= tx + tw + eps) {
        var w = ow[j] * scale;
        if (w < 0.1) {
          g.classList.add("hidden");
        } else {
          g.classList.remove("hidden");
          place(j, pad + (x0 - tx) * scale, w);
        }
      } else {
        g.classList.add("hidden");
      }
    }
  };

  var reset = function () {
    zoomed = -1;
    for (var j = 0; j < n; j++) {
      groups[j].classList.remove("hidden", "parent");
      place(j, ox[j], ow[j]);
    }
  };

  var flip = function () {
    icicle = !icicle;
    svg.setAttribute("data-orient", icicle ? "icicle" : "flame");
    for (var j = 0; j < n; j++) {
      var y = icicle ? top + depth[j] * fh : bottom - (depth[j] + 1) * fh;
      rects[j].setAttribute("y", String(y));
      if (texts[j]) {
        texts[j].setAttribute("y", String(y + 11.5));
      }
    }
  };

  var showMatched = function (text) {
    if (matchedSvg) {
      matchedSvg.textContent = text;
    }
    if (matchedHtml) {
      matchedHtml.textContent = text;
    }
  };

  // Highlights frames whose name matches `pattern`; returns the matched share in [0, 1]
  // (overlapping matches, such as recursive frames, count once).
  var search = function (pattern) {
    var re = null;
    for (var j = 0; j < n; j++) {
      rects[j].setAttribute("fill", fills[j]);
    }
    if (!pattern) {
      showMatched("");
      return 0;
    }
    try {
      re = new RegExp(pattern);
    } catch (e) {
      showMatched("Invalid regexp");
      return 0;
    }
    var spans = [];
    for (j = 0; j < n; j++) {
      if (re.test(names[j])) {
        rects[j].setAttribute("fill", "#e040e0");
        spans.push([ox[j], ox[j] + ow[j]]);
      }
    }
    spans.sort(function (a, b) {
      return a[0] - b[0];
    });
    var covered = 0, end = -Infinity;
    for (j = 0; j < spans.length; j++) {
      var s = spans[j];
      if (s[0] >= end) {
        covered += s[1] - s[0];
        end = s[1];
      } else if (s[1] > end) {
        covered += s[1] - end;
        end = s[1];
      }
    }
    var share = full > 0 ? Math.min(1, covered / full) : 0;
    showMatched("Matched: " + (share * 100).toFixed(2) + "%");
    return share;
  };

  var frameOf = function (ev) {
    var g = ev.target && ev.target.closest ? ev.target.closest("#frames > g") : null;
    return g ? parseInt(g.getAttribute("data-i"), 10) : -1;
  };
  var frames = svg.querySelector("#frames");
  frames.addEventListener("click", function (ev) {
    var k = frameOf(ev);
    if (k >= 0) {
      zoom(k);
    }
  });
  frames.addEventListener("mouseover", function (ev) {
    var k = frameOf(ev);
    if (k >= 0 && details) {
      details.textContent = names[k] + " \u2014 " + stats[k];
    }
  });
  frames.addEventListener("mouseout", function () {
    if (details) {
      details.textContent = " ";
    }
  });
  var on = function (el, fn) {
    if (el) {
      el.addEventListener("click", fn);
    }
  };
  on(svg.querySelector("#reset"), reset);
  on(svg.querySelector("#flip"), flip);
  on(svg.querySelector("#search"), function () {
    var p = window.prompt("Search frames (regexp):", "");
    if (p !== null) {
      search(p);
    }
  });
  on(document.getElementById("flame-reset"), reset);
  on(document.getElementById("flame-flip"), flip);
  var box = document.getElementById("flame-search");
  if (box) {
    box.addEventListener("input", function () {
      search(box.value);
    });
    if (box.value) {
      search(box.value);
    }
  }
  window.flamegraph = {
    zoom: zoom,
    reset: reset,
    flip: flip,
    search: search,
    zoomed: function () {
      return zoomed;
    },
    names: names
  };
})();
