// Fills the connection settings from the chosen preset, so people see them before saving.
// The server applies the same preset on save when the host is left empty (no JavaScript).
(function () {
  "use strict";
  const CONNECTION = ["port", "use_tls", "auth_type", "oauth2_provider"];
  const LIMITS = ["rate_limit_per_minute", "rate_limit_per_day", "daily_limit_counts",
    "max_connections"];
  const REGION = "{region}";

  function field(name) {
    return document.getElementById("id_" + name);
  }

  function setValue(name, value) {
    const input = field(name);
    if (!input) return;
    if (input.type === "checkbox") input.checked = Boolean(value);
    else input.value = value === null || value === undefined ? "" : String(value);
  }

  // A preset's host may name a region (Amazon SES): leave it empty until one is chosen,
  // rather than guess a region the credentials were not made in.
  function setHost(preset) {
    if (!preset.host.includes(REGION)) return setValue("host", preset.host);
    const region = (field("ses_region") || {}).value || "";
    setValue("host", region ? preset.host.replace(REGION, region) : "");
    if (!region && field("ses_region")) field("ses_region").focus();
  }

  // SendGrid's fixed "apikey" must not stay behind when another preset is chosen.
  function setUsername(preset, previous) {
    const input = field("username");
    if (!input) return;
    if (preset.username) input.value = preset.username;
    else if (previous && previous.username && input.value === previous.username) input.value = "";
  }

  function showNote(select, text) {
    let note = document.getElementById("preset-note");
    if (!note) {
      note = document.createElement("div");
      note.id = "preset-note";
      const help = document.getElementById("id_preset_helptext");
      if (help) help.appendChild(note);
      else select.insertAdjacentElement("afterend", note);
    }
    note.textContent = text || "";
  }

  function apply(select, presets, previousKey) {
    const preset = presets[select.value];
    showNote(select, preset ? preset.note : "");
    if (!preset) return;
    setHost(preset);
    CONNECTION.concat(LIMITS).forEach((name) => setValue(name, preset[name]));
    setUsername(preset, presets[previousKey]);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const select = field("preset");
    if (!select) return;
    const presets = JSON.parse(select.dataset.presets || "{}");
    let previousKey = select.value;
    select.addEventListener("change", function () {
      apply(select, presets, previousKey);
      previousKey = select.value;
    });
    const region = field("ses_region");
    if (region) {
      region.addEventListener("change", function () {
        const preset = presets[select.value];
        if (preset && preset.host.includes(REGION)) setHost(preset);
      });
    }
  });
})();
