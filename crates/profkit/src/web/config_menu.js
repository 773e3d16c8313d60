// The Config menu: "Save as ..." saves the current view's options under a name, the
// button next to a saved config deletes it. The server keeps them in pprof's settings file.
(function () {
  "use strict";
  var menu = document.getElementById("config-menu");
  if (!menu) {
    return;
  }
  var saveDialog = document.getElementById("save-dialog");
  var saveName = document.getElementById("save-name");
  var saveError = document.getElementById("save-error");
  var deleteDialog = document.getElementById("delete-dialog");
  var deletePrompt = document.getElementById("delete-prompt");
  var deleteError = document.getElementById("delete-error");
  var deleteTarget = null;

  // Sends `method` to `url`; calls done(null) on success, else done(message).
  var send = function (method, url, done) {
    fetch(url.toString(), { method: method, credentials: "same-origin" })
      .then(function (resp) {
        if (resp.ok) {
          done(null);
          return;
        }
        return resp.text().then(function (text) {
          done(text || resp.status + " " + resp.statusText);
        });
      })
      .catch(function (err) {
        done(String(err));
      });
  };

  var open = function (dialog) {
    menu.open = false;
    if (typeof dialog.showModal === "function") {
      dialog.showModal();
    } else {
      dialog.setAttribute("open", "");
    }
  };

  var close = function (dialog) {
    if (typeof dialog.close === "function") {
      dialog.close();
    } else {
      dialog.removeAttribute("open");
    }
  };

  document.getElementById("save-config").addEventListener("click", function (ev) {
    ev.preventDefault();
    saveError.textContent = "";
    open(saveDialog);
    saveName.focus();
  });

  saveDialog.querySelector("form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var name = saveName.value;
    if (!name) {
      saveError.textContent = "Enter a name";
      return;
    }
    // The current view's parameters, and the name.
    var url = new URL("./saveconfig", window.location.href);
    url.search = window.location.search;
    url.searchParams.set("config", name);
    saveError.textContent = "";
    send("POST", url, function (err) {
      if (err) {
        saveError.textContent = "Save failed: " + err;
        return;
      }
      close(saveDialog);
      window.location.reload();
    });
  });

  document.getElementById("save-cancel").addEventListener("click", function () {
    close(saveDialog);
  });

  var dels = menu.querySelectorAll(".menu-delete-btn");
  var askDelete = function (ev) {
    ev.preventDefault();
    ev.stopPropagation();
    deleteTarget = ev.currentTarget;
    deletePrompt.textContent = "Delete " + deleteTarget.getAttribute("data-config") + "?";
    deleteError.textContent = "";
    open(deleteDialog);
  };
  for (var i = 0; i < dels.length; i++) {
    dels[i].addEventListener("click", askDelete);
    dels[i].addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" || ev.key === " ") {
        askDelete(ev);
      }
    });
  }

  deleteDialog.querySelector("form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (!deleteTarget) {
      close(deleteDialog);
      return;
    }
    var name = deleteTarget.getAttribute("data-config");
    var url = new URL("./deleteconfig", window.location.href);
    url.searchParams.set("config", name);
    send("DELETE", url, function (err) {
      if (err) {
        deleteError.textContent = "Delete failed: " + err;
        return;
      }
      close(deleteDialog);
      var entry = deleteTarget.closest("a");
      if (entry) {
        entry.remove();
      }
      var options = document.querySelectorAll("#config-list option");
      for (var j = 0; j < options.length; j++) {
        if (options[j].value === name) {
          options[j].remove();
        }
      }
      deleteTarget = null;
    });
  });

  document.getElementById("delete-cancel").addEventListener("click", function () {
    close(deleteDialog);
  });

  // A click elsewhere closes the menu.
  document.addEventListener("click", function (ev) {
    if (menu.open && !menu.contains(ev.target)) {
      menu.open = false;
    }
  });
})();
