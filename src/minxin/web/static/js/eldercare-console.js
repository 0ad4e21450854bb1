/* The call console: follows the server's feed of call steps (Server-Sent Events from the database)
   and reloads the queue and the open call when something happens. EventSource reconnects by itself
   and sends Last-Event-ID, so a console that lost its connection catches up on what it missed. */
(function () {
  "use strict";
  var root = document.getElementById("console");
  if (!root || typeof EventSource === "undefined") { return; }
  var status = document.getElementById("live-status");
  var escalated = root.getAttribute("data-escalated") === "1";
  var selected = null;
  var pending = null;

  function setStatus(live) {
    if (!status) { return; }
    status.textContent = status.getAttribute(live ? "data-live" : "data-offline");
    status.className = "live-status " + (live ? "live" : "offline");
  }

  function refreshQueue() {
    pending = null;
    htmx.ajax("GET", "/eldercare/console/queue" + (escalated ? "?escalated=1" : ""),
              { target: "#queue", swap: "innerHTML" }).then(function () { mark(); });
  }

  function mark() {
    var rows = document.querySelectorAll("#queue .call-row");
    for (var i = 0; i < rows.length; i++) {
      rows[i].classList.toggle("selected", rows[i].getAttribute("data-call") === selected);
    }
  }

  document.addEventListener("click", function (event) {
    var row = event.target.closest ? event.target.closest(".call-row") : null;
    if (row) { selected = row.getAttribute("data-call"); mark(); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.classList && event.target.classList.contains("call-row")) {
      event.target.click();
    }
  });

  var source = new EventSource("/api/v1/calls/stream?after=" + encodeURIComponent(root.getAttribute("data-after") || "0"));
  source.onopen = function () { setStatus(true); };
  source.onerror = function () { setStatus(false); };
  source.addEventListener("call", function (event) {
    var step;
    try { step = JSON.parse(event.data); } catch (e) { return; }
    root.setAttribute("data-last-event", String(step.event_id));
    if (!pending) { pending = setTimeout(refreshQueue, 100); }
    if (selected && String(step.call_id) === selected) {
      htmx.ajax("GET", "/eldercare/console/calls/" + selected, { target: "#call-pane", swap: "innerHTML" });
    }
  });
})();
