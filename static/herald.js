// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // Batch Verify: follow the counters while the batch runs, then show the final page.
  var batch = document.getElementById("batch");
  if (batch && batch.dataset.state === "running") {
    var url = batch.dataset.progressUrl;
    var set = function (id, v) {
      var el = document.getElementById(id);
      if (el) { el.textContent = String(v); }
    };
    var poll = function () {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (p) {
          var bar = document.getElementById("batch-bar");
          bar.max = p.total;
          bar.value = p.done;
          bar.textContent = p.percent + "%";
          set("batch-done", p.done);
          set("batch-total", p.total);
          set("batch-sent", p.sent);
          set("batch-failed", p.failed);
          if (p.state === "running") {
            setTimeout(poll, 500);
          } else {
            // The server-rendered page has the summary and the failures table.
            window.location.reload();
          }
        })
        .catch(function () { setTimeout(poll, 2000); });
    };
    setTimeout(poll, 300);
  }

  // Contacts: a box that ticks every row box on the page.
  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input[name=ids]").forEach(function (box) {
        box.checked = all.checked;
      });
    });
  }

  // Fields with a length limit: a live "n / limit" beside the hint. The limit is checked by the
  // server; a browser `maxlength` would cut a pasted value silently instead.
  document.querySelectorAll("[data-limit][data-counter]").forEach(function (field) {
    var out = document.getElementById(field.dataset.counter);
    var limit = parseInt(field.dataset.limit, 10);
    if (!out || !limit) { return; }
    var update = function () {
      var n = Array.from(field.value).length;
      out.textContent = n + " / " + limit;
      out.classList.toggle("over", n > limit);
    };
    field.addEventListener("input", update);
    update();
  });

  // Copy buttons (the API token shown once): copy the named field's value.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.dataset.copy);
    if (!field) { return; }
    button.addEventListener("click", function () {
      field.select();
      var done = function () { button.textContent = "Copied"; };
      if (navigator.clipboard) {
        navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });
})();
