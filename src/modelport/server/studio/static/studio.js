// modelport studio: the few behaviours htmx does not cover. No inline scripts (the CSP forbids them).
(function () {
  "use strict";
  // Copy buttons: data-copy names the element whose value or text is copied.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.value !== undefined ? source.value : source.textContent;
    navigator.clipboard.writeText(text).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 1500);
    });
  });
  // File inputs with data-load-into put the chosen file's text into a textarea (no multipart).
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[type=file][data-load-into]")) return;
    var file = input.files && input.files[0];
    var target = document.getElementById(input.getAttribute("data-load-into"));
    if (!file || !target) return;
    file.text().then(function (text) { target.value = text; });
  });
  // Log views stay scrolled to their end as they refresh.
  function scrollLogs(root) {
    root.querySelectorAll("[data-scroll-end]").forEach(function (el) { el.scrollTop = el.scrollHeight; });
  }
  document.addEventListener("htmx:afterSwap", function (event) { scrollLogs(event.target.parentNode || document); });
  document.addEventListener("DOMContentLoaded", function () { scrollLogs(document); });
})();
