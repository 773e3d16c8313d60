// The web UI's controls: the search box (shared by every view), the refine buttons,
// the sample type menu, filter chips and the sortable top table.
(function () {
  "use strict";
  var view = document.body.getAttribute("data-view");
  var search = document.getElementById("search");
  var status = document.getElementById("search-status");
  var storeKey = "profkit-search";

  var navigate = function (edit) {
    var url = new URL(window.location.href);
    edit(url.searchParams);
    window.location.href = url.pathname + (url.searchParams.toString() ? "?" + url.searchParams.toString() : "");
  };

  var compile = function (text) {
    if (!text) {
      return null;
    }
    try {
      return new RegExp(text);
    } catch (e) {
      return undefined;
    }
  };

  var highlightRows = function (re) {
    var rows = document.querySelectorAll("#toptable tbody tr");
    var count = 0;
    for (var i = 0; i < rows.length; i++) {
      var name = rows[i].querySelector("td.name").textContent;
      var hit = !!re && re.test(name);
      rows[i].classList.toggle("match", hit);
      if (hit) {
        count++;
      }
    }
    return re ? count + " of " + rows.length + " rows match" : "";
  };

  var highlightGraph = function (re) {
    var nodes = document.querySelectorAll("#graph g.node");
    var count = 0;
    for (var i = 0; i < nodes.length; i++) {
      var t = nodes[i].querySelector("title");
      var hit = !!re && !!t && re.test(t.textContent);
      nodes[i].classList.toggle("match", hit);
      if (hit) {
        count++;
      }
    }
    return re ? count + " nodes match" : "";
  };

  var apply = function () {
    var text = search.value;
    var re = compile(text);
    try {
      window.sessionStorage.setItem(storeKey, text);
    } catch (e) {
      // Storage may be unavailable; the search then stays on this page only.
    }
    if (re === undefined) {
      status.textContent = "invalid regexp";
      return;
    }
    var msg = "";
    if (view === "flamegraph" && window.flamegraph) {
      window.flamegraph.search(text);
    } else if (view === "top") {
      msg = highlightRows(re);
    } else if (view === "graph") {
      msg = highlightGraph(re);
    }
    status.textContent = msg;
  };

  if (search) {
    var saved = null;
    try {
      saved = window.sessionStorage.getItem(storeKey);
    } catch (e) {
      saved = null;
    }
    if (saved) {
      search.value = saved;
    }
    search.addEventListener("input", apply);
    search.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") {
        var f = search.value;
        if (f) {
          navigate(function (p) {
            p.set("f", f);
          });
        }
      }
    });
    if (search.value) {
      apply();
    }
  }

  var refine = document.querySelectorAll("#refine button[data-param]");
  for (var i = 0; i < refine.length; i++) {
    refine[i].addEventListener("click", function (ev) {
      var param = ev.currentTarget.getAttribute("data-param");
      var value = search.value;
      if (!value) {
        status.textContent = "type a regexp first";
        return;
      }
      navigate(function (p) {
        p.set(param, value);
      });
    });
  }
  var reset = document.getElementById("reset-config");
  if (reset) {
    reset.addEventListener("click", function () {
      search.value = "";
      try {
        window.sessionStorage.removeItem(storeKey);
      } catch (e) {
        // Nothing to clear.
      }
      window.location.href = window.location.pathname;
    });
  }
  var chips = document.querySelectorAll("#filters .chip-x");
  for (i = 0; i < chips.length; i++) {
    chips[i].addEventListener("click", function (ev) {
      ev.preventDefault();
      var param = ev.currentTarget.parentNode.getAttribute("data-param");
      navigate(function (p) {
        p.delete(param);
      });
    });
  }
  var si = document.getElementById("sample-index");
  if (si) {
    si.addEventListener("change", function () {
      navigate(function (p) {
        p.set("si", si.value);
      });
    });
  }

  // The top table: sort by a column on click; a click on a row searches for its name.
  var table = document.getElementById("toptable");
  if (table) {
    var tbody = table.querySelector("tbody");
    var escapeRe = function (s) {
      return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    };
    var heads = table.querySelectorAll("th[data-sort]");
    for (i = 0; i < heads.length; i++) {
      heads[i].addEventListener("click", function (ev) {
        var th = ev.currentTarget;
        var key = th.getAttribute("data-sort");
        var rows = Array.prototype.slice.call(tbody.rows);
        rows.sort(function (a, b) {
          if (key === "name") {
            var x = a.querySelector("td.name").textContent, y = b.querySelector("td.name").textContent;
            return x < y ? -1 : x > y ? 1 : 0;
          }
          return Math.abs(parseFloat(b.getAttribute("data-" + key))) - Math.abs(parseFloat(a.getAttribute("data-" + key)));
        });
        for (var j = 0; j < rows.length; j++) {
          tbody.appendChild(rows[j]);
        }
        var all = table.querySelectorAll("th");
        for (j = 0; j < all.length; j++) {
          all[j].classList.remove("sorted");
        }
        th.classList.add("sorted");
      });
    }
    tbody.addEventListener("click", function (ev) {
      var tr = ev.target.closest("tr");
      if (!tr) {
        return;
      }
      var prev = tbody.querySelector("tr.selected");
      if (prev) {
        prev.classList.remove("selected");
      }
      tr.classList.add("selected");
      search.value = "^" + escapeRe(tr.querySelector("td.name").textContent) + "$";
      apply();
    });
  }
})();
