/* minxin: small behaviours for every page. No inline scripts anywhere (the CSP forbids them). */
(function () {
  "use strict";

  function flash(html) {
    var area = document.getElementById("flash");
    if (!area) { return; }
    area.innerHTML = html;
    area.scrollIntoView({ block: "nearest" });
  }

  // An HTMX request that fails (403, 404, 500 …) shows the server's error fragment at the top.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var text = xhr && xhr.responseText ? xhr.responseText : "";
    if (text.indexOf("alert") !== -1 && text.length < 4000) {
      flash(text);
    } else {
      flash('<div class="alert alert-error" role="alert">' + (xhr ? xhr.status : "") + "</div>");
    }
  });
  document.addEventListener("htmx:sendError", function () {
    var div = document.createElement("div");
    div.className = "alert alert-error";
    div.setAttribute("role", "alert");
    div.textContent = document.body.getAttribute("data-msg-network") || "Network error";
    flash(div.outerHTML);
  });

  // Refuse a too-large upload before sending it; the server checks again.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var inputs = form.querySelectorAll("input[type=file][data-max-bytes]");
    for (var i = 0; i < inputs.length; i++) {
      var input = inputs[i];
      var max = parseInt(input.getAttribute("data-max-bytes"), 10);
      var file = input.files && input.files[0];
      if (file && max && file.size > max) {
        event.preventDefault();
        var box = form.querySelector(".client-error");
        var mb = (file.size / 1024 / 1024).toFixed(0) + " MB";
        var message = (input.getAttribute("data-too-large") || "").replace("{size}", mb);
        if (box) { box.textContent = message; box.hidden = false; } else { window.alert(message); }
        return;
      }
    }
    if (form.enctype === "multipart/form-data") {
      var buttons = form.querySelectorAll("button[type=submit]");
      for (var j = 0; j < buttons.length; j++) {
        buttons[j].disabled = true;
        buttons[j].classList.add("busy");
      }
    }
  });

  // Coming back with the browser's back button must not leave the upload button disabled.
  window.addEventListener("pageshow", function () {
    var busy = document.querySelectorAll("button.busy");
    for (var i = 0; i < busy.length; i++) { busy[i].disabled = false; busy[i].classList.remove("busy"); }
  });
})();
