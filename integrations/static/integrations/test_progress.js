// A running test run's page asks for its progress every second and shows each step as it
// completes, until the run has passed or failed (the server fails it at its deadline).
// Without JavaScript the page reloads itself instead (its <noscript> meta refresh).
(function () {
  "use strict";
  var INTERVAL_MS = 1000;

  function poll(section) {
    var url = section.getAttribute("data-progress-url");
    if (!url) return;
    window.setTimeout(function () {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("progress answered " + response.status);
          return response.json();
        })
        .then(function (progress) {
          var holder = document.createElement("template");
          holder.innerHTML = progress.html;
          var fresh = holder.content.querySelector("#test-report");
          section.replaceWith(fresh);
          if (progress.status === "running") poll(fresh);
        })
        .catch(function () { poll(section); });  // a dropped request: ask again
    }, INTERVAL_MS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var section = document.getElementById("test-report");
    if (section) poll(section);
  });
})();
