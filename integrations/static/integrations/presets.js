// Fills host, port, TLS and auth type from the chosen preset, so people see them before saving.
(function () {
  "use strict";
  function setValue(name, value) {
    const field = document.getElementById("id_" + name);
    if (!field || value === null || value === undefined || value === "") return;
    if (field.type === "checkbox") field.checked = Boolean(value);
    else field.value = value;
  }
  function apply(select) {
    const presets = JSON.parse(select.dataset.presets || "{}");
    const preset = presets[select.value];
    if (!preset) return;
    const region = (document.getElementById("id_ses_region") || {}).value || "us-east-1";
    ["port", "use_tls", "auth_type", "oauth2_provider", "username",
     "rate_limit_per_minute", "rate_limit_per_day", "max_connections"].forEach(
      (name) => setValue(name, preset[name]));
    setValue("host", preset.host.replace("{region}", region));
  }
  document.addEventListener("DOMContentLoaded", function () {
    const select = document.getElementById("id_preset");
    if (!select) return;
    select.addEventListener("change", () => apply(select));
    const region = document.getElementById("id_ses_region");
    if (region) region.addEventListener("change", () => {
      if (select.value === "ses") apply(select);
    });
  });
})();
