// Live updates of server-rendered regions; include once per page, after the regions.
// A region (an element with an id and data-kilde, the address of HTML that holds the region
// anew) is fetched again when its data-stroem (server-sent events) reports a change, or every
// data-hvert seconds while the server keeps that attribute on it. The fresh region replaces the
// old one, unless the user is working in it (focus, or text typed): then it waits until focus
// leaves. The change is announced politely in the element named by data-status (an
// aria-live="polite" region outside the swapped one): data-besked followed by data-resume.
// A button (after the page's heading) stops and restarts the updates (WCAG 2.2.2); the choice
// is kept for the page while the browser tab is open.
// Without JavaScript the regions stay as the server rendered them.
// Served as /statisk/live.js (web/_live.html.j2): the Content-Security-Policy allows no inline scripts.
(function () {
  if (!window.fetch || !window.DOMParser || !document.querySelectorAll) return;
  var waiting = {};
  var key = "stop-opdatering:" + location.pathname, off = false;
  function stopped() { try { return sessionStorage.getItem(key) === "ja"; } catch (e) { return off; } }

  function busy(region) {
    var active = document.activeElement;
    if (active && active !== document.body && region.contains(active)) return true;
    var typed = region.querySelectorAll("input[type=text], textarea");
    for (var i = 0; i < typed.length; i++) { if (typed[i].value) return true; }
    return false;
  }

  function announce(region) {
    var status = document.getElementById(region.getAttribute("data-status") || "");
    if (!status) return;
    status.textContent = "";
    window.setTimeout(function () {
      status.textContent = (region.getAttribute("data-besked") || "Opdateret:") + " " +
        (region.getAttribute("data-resume") || "");
    }, 50);
  }

  function schedule(region) {
    if (stopped()) return;
    var seconds = parseFloat(region.getAttribute("data-hvert") || "0");
    if (seconds > 0) window.setTimeout(function () { refresh(region.id); }, seconds * 1000);
  }

  function refresh(id) {
    var region = document.getElementById(id);
    if (!region || stopped()) return;
    fetch(region.getAttribute("data-kilde"), {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        var current = document.getElementById(id);
        if (!html || !current) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(id);
        if (!fresh) return;
        if (fresh.innerHTML === current.innerHTML) { schedule(current); return; }
        if (busy(current)) { waiting[id] = true; schedule(current); return; }
        delete waiting[id];
        fresh = document.importNode(fresh, true);
        // Keep what the layout's script set on the table boxes (scrolling by keyboard, a name).
        var before = current.querySelectorAll(".tabel"), after = fresh.querySelectorAll(".tabel");
        for (var b = 0; b < before.length && b < after.length; b++) {
          ["tabindex", "role", "aria-label"].forEach(function (name) {
            if (before[b].hasAttribute(name)) after[b].setAttribute(name, before[b].getAttribute(name));
          });
        }
        current.parentNode.replaceChild(fresh, current);
        announce(fresh);
        schedule(fresh);
      })
      .catch(function () { window.setTimeout(function () { refresh(id); }, 10000); });
  }

  document.addEventListener("focusout", function () {
    window.setTimeout(function () {
      Object.keys(waiting).forEach(function (id) {
        var region = document.getElementById(id);
        if (region && !busy(region)) refresh(id);
      });
    }, 100);
  });

  var regions = document.querySelectorAll("[data-kilde]");
  if (!regions.length) return;
  var note = document.createElement("p"), text = document.createElement("span"),
      button = document.createElement("button");
  note.className = "opdatering lille";
  button.type = "button";
  note.appendChild(text);
  note.appendChild(document.createTextNode(" "));
  note.appendChild(button);
  var main = document.querySelector("main"), heading = main && main.querySelector("h1");
  if (main) main.insertBefore(note, heading ? heading.nextSibling : main.firstChild);
  function show() {
    text.textContent = stopped() ? "Automatisk opdatering er slået fra."
                                 : "Siden opdateres automatisk, når noget ændres.";
    button.textContent = stopped() ? "Slå automatisk opdatering til" : "Stop automatisk opdatering";
  }
  button.addEventListener("click", function () {
    off = !stopped();
    try { sessionStorage.setItem(key, off ? "ja" : ""); } catch (e) { /* until the page is left */ }
    show();
    if (!off) { for (var r = 0; r < regions.length; r++) refresh(regions[r].id); }
  });
  show();
  for (var i = 0; i < regions.length; i++) {
    (function (region) {
      var id = region.id;
      var stream = region.getAttribute("data-stroem");
      if (stream && window.EventSource) {
        // The first event is the board as it is now: it catches what changed since the page
        // was drawn (and changes nothing on the page otherwise).
        new EventSource(stream).addEventListener("tavle", function () { refresh(id); });
      } else {
        schedule(region);
      }
    })(regions[i]);
  }
})();
