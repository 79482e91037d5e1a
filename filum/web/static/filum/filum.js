/* Filum: small progressive enhancements. Everything works without this file. */
(function () {
  "use strict";

  // After a failed submit, move the focus to the error summary so that screen-reader
  // and keyboard users learn at once what to fix.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) {
      summary.focus();
    }
  });

  // Close an open dropdown (<details class="dropdown">) with Escape and return the focus.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    var open = document.querySelectorAll("details.dropdown[open]");
    open.forEach(function (details) {
      details.removeAttribute("open");
      var summary = details.querySelector("summary");
      if (summary) {
        summary.focus();
      }
    });
  });
})();
