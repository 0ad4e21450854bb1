/* Benefit-engine pages: ask before an action that cannot be undone (approving a cycle, ending a case).
   A form with data-confirm="…" asks that question on submit. No inline scripts (the CSP forbids them). */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();
