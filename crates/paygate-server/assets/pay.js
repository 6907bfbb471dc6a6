// The hosted payment page: countdown, live status, copy buttons, and the
// sandbox button without a page reload. Same-origin requests only.
(function () {
  "use strict";
  var token = (document.getElementById("token") || {}).textContent;
  var status = document.getElementById("status");
  var countdown = document.getElementById("countdown");
  var texts = {
    waiting: "Waiting for your payment",
    paid: "Payment received. Thank you!",
    failed: "The payment did not go through",
    gone: "This payment is no longer open"
  };

  function tick() {
    if (!countdown) return;
    var left = Number(countdown.dataset.expires) - Math.floor(Date.now() / 1000);
    if (left <= 0) { countdown.textContent = "expired"; return; }
    var m = Math.floor(left / 60), s = left % 60;
    countdown.textContent = m + ":" + (s < 10 ? "0" : "") + s;
  }

  function show(phase) {
    if (!status || status.dataset.phase === phase) return;
    status.dataset.phase = phase;
    status.textContent = texts[phase] || phase;
    if (phase !== "waiting") {
      var test = document.getElementById("simulate");
      if (test) test.remove();
      if (countdown) countdown.parentNode.remove();
      countdown = null;
      var back = document.getElementById("return");
      if (back && phase === "paid") setTimeout(function () { location.href = back.href; }, 3000);
    }
  }

  function poll() {
    if (!token || !status || status.dataset.phase !== "waiting") return;
    fetch("/pay/" + token + "/status", { headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) { if (s) show(s.phase); })
      .catch(function () {})
      .then(function () { setTimeout(poll, 2000); });
  }

  document.addEventListener("click", function (e) {
    var id = e.target && e.target.dataset && e.target.dataset.copy;
    if (!id || !navigator.clipboard) return;
    navigator.clipboard.writeText(document.getElementById(id).textContent).then(function () {
      e.target.textContent = "Copied";
    });
  });

  var simulate = document.getElementById("simulate");
  if (simulate) {
    simulate.addEventListener("submit", function (e) {
      e.preventDefault();
      simulate.querySelector("button").disabled = true;
      fetch(simulate.action, { method: "POST", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) { if (s) show(s.phase); });
    });
  }

  tick();
  setInterval(tick, 1000);
  setTimeout(poll, 2000);
})();
