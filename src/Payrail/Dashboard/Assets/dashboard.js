// Payrail dashboard: live rows by Server-Sent Events, and forms that cannot be sent twice. No framework.
(function () {
  "use strict";

  // A form is sent once: the second click finds its buttons disabled (the idempotency key guards a retry anyway).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.sent === "1") { event.preventDefault(); return; }
    form.dataset.sent = "1";
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
  });

  var table = document.getElementById("payments");
  if (!table || !table.dataset.streamAfter) return;
  var live = document.getElementById("live");
  var tbody = table.tBodies[0];
  var seen = [];
  window.payrailSeen = seen;

  function setState(state, text) {
    if (!live) return;
    live.dataset.state = state;
    live.textContent = text;
  }

  function cell(row, name) { return row.querySelector("[data-col=" + name + "]"); }

  function newRow(p) {
    var row = document.createElement("tr");
    ["id", "amount", "status", "time", "buyer"].forEach(function (name) {
      var td = document.createElement("td");
      td.dataset.col = name;
      if (name === "amount") td.className = "num";
      if (name === "buyer") td.className = "hide-narrow";
      row.appendChild(td);
    });
    var link = document.createElement("a");
    link.href = "/payments/" + encodeURIComponent(p.payment_id);
    link.textContent = p.payment_id;
    cell(row, "id").appendChild(link);
    cell(row, "time").textContent = p.occurred_at;
    cell(row, "buyer").textContent = p.buyer_id;
    row.dataset.id = p.payment_id;
    return row;
  }

  function apply(p) {
    var row = tbody.querySelector("tr[data-id='" + p.payment_id + "']");
    if (!row) {
      if (table.dataset.liveNew !== "true") return;
      row = newRow(p);
      tbody.insertBefore(row, tbody.firstChild);
      var empty = document.getElementById("empty");
      if (empty) empty.remove();
    } else if (Number(row.dataset.version || 0) > p.version) {
      return;
    }
    row.dataset.version = p.version;
    row.dataset.status = p.status;
    cell(row, "amount").textContent = p.amount;
    var status = document.createElement("span");
    status.className = "status " + p.status;
    status.textContent = p.status;
    cell(row, "status").replaceChildren(status);
    row.classList.add("fresh");
  }

  var source = new EventSource("/stream?after=" + encodeURIComponent(table.dataset.streamAfter));
  window.payrailStream = source;
  source.addEventListener("open", function () { setState("live", "live"); });
  source.addEventListener("error", function () { setState("reconnecting", "reconnecting…"); });
  source.addEventListener("payment", function (event) {
    seen.push(Number(event.lastEventId));
    apply(JSON.parse(event.data));
  });
  // The stream could not resume from where this page was (its log rows are past retention): reload the list.
  source.addEventListener("reset", function () { source.close(); window.location.reload(); });
})();
