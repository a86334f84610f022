// Booking pages: show times in the visitor's own zone, send a booking form once, confirm before cancelling.
(function () {
  "use strict";
  var zoneForm = document.getElementById("zone-form");
  if (zoneForm && zoneForm.dataset.tzKnown === "no") {
    var params = new URLSearchParams(window.location.search);
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
    if (zone && !params.has("tz")) {
      params.set("tz", zone);
      window.location.replace(window.location.pathname + "?" + params.toString());
    }
  }
  var bookForm = document.getElementById("book-form");
  if (bookForm) {
    bookForm.addEventListener("submit", function (event) {
      if (bookForm.dataset.sent === "yes") { event.preventDefault(); return; }
      bookForm.dataset.sent = "yes";
      var button = document.getElementById("book-button");
      if (button) {
        button.setAttribute("aria-disabled", "true");
        button.classList.add("busy-sending");
        window.setTimeout(function () { button.disabled = true; }, 0);
      }
    });
  }
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });
})();
