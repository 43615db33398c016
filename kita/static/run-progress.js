// Live progress of an allocation run: polls the JSON endpoint and opens the result
// when the run has finished. Without JavaScript the page refreshes itself
// (<noscript> meta refresh).
(function () {
  "use strict";
  var box = document.getElementById("run-progress");
  if (!box || !window.fetch) { return; }
  var bar = document.getElementById("run-bar");
  var pct = document.getElementById("run-percent");
  var label = document.getElementById("run-status");
  function poll() {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        bar.value = p.progress;
        bar.textContent = p.progress + " %";
        pct.textContent = p.progress;
        label.textContent = p.status_label;
        if (p.done) { window.location.assign(box.dataset.doneUrl); } else { setTimeout(poll, 700); }
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 300);
})();
