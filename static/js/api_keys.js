// The API keys page: the copy button beside the key shown once (no inline handlers: strict CSP).
// Without JavaScript the button stays hidden and the key is selected and copied by hand.
(function () {
  "use strict";

  function announce(button, text) {
    button.textContent = text;
    const region = document.getElementById("live-status");
    if (region) region.textContent = text;
  }

  function selectText(element) {
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-copy-target]").forEach(function (button) {
      button.hidden = false;
    });
  });

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy-target]");
    if (!button) return;
    const source = document.getElementById(button.getAttribute("data-copy-target"));
    if (!source) return;
    const text = source.textContent.trim();
    if (!navigator.clipboard || !window.isSecureContext) {
      selectText(source);
      announce(button, "Selected: press Ctrl+C to copy");
      return;
    }
    navigator.clipboard.writeText(text).then(
      function () { announce(button, "Copied"); },
      function () {
        selectText(source);
        announce(button, "Selected: press Ctrl+C to copy");
      }
    );
  });
})();
