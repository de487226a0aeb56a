// The console's only script: live overview updates, monitor form niceties, delete confirmations.
// Every page works without it.
(function () {
  "use strict";

  function liveOverview() {
    var target = document.querySelector("[data-live]");
    var status = document.querySelector("[data-live-status]");
    if (!target || !window.EventSource) return;
    var source = new EventSource(target.getAttribute("data-live"));
    source.addEventListener("overview", function (event) {
      var data = JSON.parse(event.data);
      target.innerHTML = data.html;
      if (status) {
        status.textContent = "live, updated " + data.generated_at.slice(11, 19) + " UTC";
        status.classList.add("on");
      }
    });
    source.addEventListener("error", function () {
      if (status) status.classList.remove("on");
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  function kindFields() {
    var select = document.querySelector("[data-kind-select]");
    if (!select) return;
    function show() {
      document.querySelectorAll("fieldset[data-kinds]").forEach(function (set) {
        set.disabled = set.getAttribute("data-kinds").split(" ").indexOf(select.value) < 0;
      });
    }
    select.addEventListener("change", show);
    show();
  }

  function confirmations() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    liveOverview();
    kindFields();
    confirmations();
  });
})();
