// Shows the integration form's sections and rows only when they apply to the chosen auth
// type, provider and preset, and warns while TLS is off with a login. Without JavaScript
// every field still shows and works: each section's description says when it applies.
(function () {
  "use strict";

  function field(name) {
    return document.getElementById("id_" + name);
  }

  function valueOf(name) {
    const input = field(name);
    return input ? input.value : "";
  }

  function rowOf(name) {
    const input = field(name);
    return input ? input.closest(".form-row") : null;
  }

  function show(element, visible) {
    if (element) element.style.display = visible ? "" : "none";
  }

  function showSections(auth, provider) {
    document.querySelectorAll("fieldset.only-oauth2").forEach(function (section) {
      let visible = auth === "oauth2";
      if (section.classList.contains("only-microsoft")) visible = visible && provider === "microsoft";
      if (section.classList.contains("only-google")) visible = visible && provider === "google";
      show(section, visible);
    });
  }

  // Amazon SES names its region in the host: the region matters only there.
  function showRegion() {
    const region = field("ses_region");
    const wanted = valueOf("preset") === "ses" || valueOf("host").includes("amazonaws.com") ||
      Boolean(region && region.value);
    show(rowOf("ses_region"), wanted);
  }

  function warnAboutPlainText(auth) {
    const tls = field("use_tls");
    if (!tls) return;
    let warning = document.getElementById("tls-warning");
    if (!warning) {
      warning = document.createElement("p");
      warning.id = "tls-warning";
      warning.className = "errornote";
      warning.textContent = "TLS is off while the integration authenticates: the login and " +
        "every message would cross the network unencrypted. Turn Use TLS on unless the " +
        "server is on this machine or a network you trust.";
      tls.closest(".form-row").appendChild(warning);
    }
    show(warning, !tls.checked && auth !== "none");
  }

  function update() {
    const auth = valueOf("auth_type");
    showSections(auth, valueOf("oauth2_provider"));
    show(rowOf("username"), auth !== "none");
    show(rowOf("password"), auth === "basic");
    showRegion();
    warnAboutPlainText(auth);
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!field("auth_type")) return; // a view-only page: nothing to adapt
    // After presets.js (loaded first), which may change the auth type and TLS.
    ["auth_type", "oauth2_provider", "use_tls", "preset", "ses_region", "host"].forEach(
      function (name) {
        const input = field(name);
        if (input) input.addEventListener(name === "host" ? "input" : "change", update);
      });
    update();
  });
})();
