// The web chat: send what the person types, clicks or fills in to /api/chat and show the bot's replies.
(function () {
  "use strict";
  var tz = document.getElementById("tz");
  if (tz && !tz.value) {
    try { tz.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* leave empty */ }
  }
  var log = document.getElementById("log");
  var composer = document.getElementById("composer");
  if (!log || !composer) { return; }
  var input = document.getElementById("chat-input");

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function appendMine(text) {
    var div = document.createElement("div");
    div.className = "msg me";
    div.textContent = text;
    log.appendChild(div);
    scrollDown();
  }

  function appendNotice(text) {
    var div = document.createElement("div");
    div.className = "msg bot";
    div.setAttribute("role", "alert");
    div.textContent = text;
    log.appendChild(div);
    scrollDown();
  }

  function setBusy(element, busy) {
    if (!element) { return; }
    element.querySelectorAll("button").forEach(function (b) { b.disabled = busy; });
    element.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function show(replies, source) {
    var replaced = false;
    var last = null;
    replies.forEach(function (reply) {
      if (reply.replace && source && !replaced && source.parentNode) {
        source.insertAdjacentHTML("afterend", reply.html);
        source.parentNode.removeChild(source);
        replaced = true;
      } else {
        log.insertAdjacentHTML("beforeend", reply.html);
      }
      last = document.getElementById(reply.id);
    });
    scrollDown();
    return last;
  }

  function send(payload, source) {
    setBusy(source, true);
    return fetch("/api/chat", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(payload)
    }).then(function (response) {
      if (response.status === 401) { window.location.href = "/"; return null; }
      return response.json().then(function (data) {
        if (!response.ok) { appendNotice(data.error || "Something went wrong; please try again."); return null; }
        return show(data.replies || [], source);
      });
    }).catch(function () {
      appendNotice("Could not reach the bot; check your connection and try again.");
      return null;
    }).then(function (last) {
      if (source && source.parentNode) { setBusy(source, false); }
      var focusable = last && last.querySelector("button, input, select, textarea");
      if (source && focusable) { focusable.focus(); } else { input.focus(); }
    });
  }

  composer.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    appendMine(text);
    send({ text: text }, null);
  });

  log.addEventListener("click", function (event) {
    var button = event.target.closest("button.choice");
    if (!button || button.disabled) { return; }
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) { return; }
    var message = button.closest(".msg");
    send({ action: button.dataset.action, value: button.dataset.value }, message);
  });

  log.addEventListener("submit", function (event) {
    var form = event.target.closest("form.reply-form");
    if (!form) { return; }
    event.preventDefault();
    var values = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name) { return; }
      if (el.tagName === "SELECT" && el.multiple) {
        values[el.name] = Array.prototype.filter.call(el.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; }).join(",");
      } else {
        values[el.name] = el.value;
      }
    });
    send({ form_id: form.dataset.formId, values: values }, form.closest(".msg"));
  });
})();
