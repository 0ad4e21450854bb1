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

  // ---- the top bar -------------------------------------------------------------------------------
  // Small screens: the menu button opens the bar as a panel. Drop-downs (disclosures): a click, Enter or
  // Space opens and closes one; ↓/↑ on its button opens it on the first/last entry; ↓ ↑ Home End move
  // between its entries; Esc closes it (focus back on its button), then the panel; a click elsewhere or
  // focus leaving a group closes it.
  var topbar = document.querySelector(".topbar");
  var toggle = topbar ? topbar.querySelector(".menu-toggle") : null;

  function groupLinks(group) { return Array.prototype.slice.call(group.querySelectorAll(".navmenu a")); }

  function setGroup(group, open) {
    group.classList.toggle("open", open);
    group.querySelector(".navgroup-label").setAttribute("aria-expanded", open ? "true" : "false");
  }

  function closeGroups(except) {
    if (!topbar) { return; }
    var open = topbar.querySelectorAll(".navgroup.open");
    for (var i = 0; i < open.length; i++) { if (open[i] !== except) { setGroup(open[i], false); } }
  }

  function setPanel(open) {
    if (!toggle) { return; }
    topbar.classList.toggle("nav-open", open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    if (!open) { closeGroups(null); }
  }

  if (topbar) {
    if (toggle) {
      toggle.addEventListener("click", function () { setPanel(!topbar.classList.contains("nav-open")); });
    }
    topbar.addEventListener("click", function (event) {
      var label = event.target.closest(".navgroup-label");
      if (!label) { return; }
      var group = label.parentNode;
      closeGroups(group);
      setGroup(group, !group.classList.contains("open"));
    });
    topbar.addEventListener("keydown", function (event) {
      var key = event.key;
      var group = event.target.closest ? event.target.closest(".navgroup") : null;
      if (key === "Escape" || key === "Esc") {
        if (group && group.classList.contains("open")) {
          setGroup(group, false);
          group.querySelector(".navgroup-label").focus();
        } else if (topbar.classList.contains("nav-open")) {
          setPanel(false);
          toggle.focus();
        } else { return; }
        event.preventDefault();
        return;
      }
      if (!group || ["ArrowDown", "ArrowUp", "Home", "End"].indexOf(key) === -1) { return; }
      var links = groupLinks(group);
      if (!links.length) { return; }
      var at = links.indexOf(document.activeElement);
      var next;
      if (at === -1) {  // on the group's button
        if (key !== "ArrowDown" && key !== "ArrowUp") { return; }
        closeGroups(group);
        setGroup(group, true);
        next = key === "ArrowUp" ? links.length - 1 : 0;
      } else if (key === "ArrowDown") { next = (at + 1) % links.length; }
      else if (key === "ArrowUp") { next = (at - 1 + links.length) % links.length; }
      else if (key === "Home") { next = 0; }
      else { next = links.length - 1; }
      event.preventDefault();
      links[next].focus();
    });
    topbar.addEventListener("focusout", function (event) {
      var group = event.target.closest ? event.target.closest(".navgroup") : null;
      if (group && !(event.relatedTarget && group.contains(event.relatedTarget))) { setGroup(group, false); }
    });
    document.addEventListener("click", function (event) {
      if (!topbar.contains(event.target)) {
        closeGroups(null);
        if (topbar.classList.contains("nav-open")) { setPanel(false); }
      }
    });
  }

  // Coming back with the browser's back button must not leave the upload button disabled.
  window.addEventListener("pageshow", function () {
    var busy = document.querySelectorAll("button.busy");
    for (var i = 0; i < busy.length; i++) { busy[i].disabled = false; busy[i].classList.remove("busy"); }
  });
})();
