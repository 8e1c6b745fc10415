// The layout's script for signed-in pages (templates/web/base.html.j2), served as
// /statisk/layout.js: the Content-Security-Policy allows no inline scripts.
// The menu marks the page you are on.
document.querySelectorAll("header nav a").forEach(function (link) {
  if (link.getAttribute("href") === location.pathname) link.setAttribute("aria-current", "page");
});
// Tables in the content: each scrolls sideways inside its own box (.tabel) on narrow screens;
// a box that scrolls can be reached with the keyboard (Tab, then the arrow keys) and is named
// after its table. A table with class "kort" becomes cards on a phone: it keeps its meaning for
// screen readers (roles) and each cell its column heading. Parts of a page replaced later (the
// live board) are treated the same way.
(function () {
  var main = document.getElementById("indhold");
  function name(table) {
    var caption = table.querySelector("caption");
    if (caption) return caption.textContent.trim();
    for (var node = table.parentNode.previousElementSibling; node; node = node.previousElementSibling) {
      if (/^H[1-6]$/.test(node.tagName)) return node.textContent.trim();
    }
    return "Tabel";
  }
  function cards(table) {
    var headings = [].map.call(table.querySelectorAll("thead th"), function (th) { return th.textContent.trim(); });
    table.setAttribute("role", "table");
    table.querySelectorAll("thead, tbody, tfoot").forEach(function (group) { group.setAttribute("role", "rowgroup"); });
    table.querySelectorAll("tr").forEach(function (row) {
      row.setAttribute("role", "row");
      [].forEach.call(row.children, function (cell, index) {
        if (cell.tagName === "TH") { cell.setAttribute("role", cell.closest("thead") ? "columnheader" : "rowheader"); return; }
        cell.setAttribute("role", "cell");
        // Cells holding forms or details (actions) have their own labels.
        var filled = cell.textContent.trim() && !cell.querySelector("form, details");
        if (headings[index] && filled && !cell.hasAttribute("colspan")) cell.setAttribute("data-label", headings[index]);
      });
    });
  }
  function mark(box) {
    var table = box.querySelector("table");
    if (table && box.scrollWidth > box.clientWidth + 1) {
      box.setAttribute("data-rul", "ja");
      box.tabIndex = 0;
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", name(table) + " (rul vandret for flere kolonner)");
    } else if (box.hasAttribute("data-rul")) {
      ["data-rul", "tabindex", "role", "aria-label"].forEach(function (a) { box.removeAttribute(a); });
    }
  }
  function tables() {
    main.querySelectorAll("table").forEach(function (table) {
      if (table.classList.contains("kort") && !table.hasAttribute("role")) cards(table);
      var box = table.parentNode;
      if (!box.classList.contains("tabel")) {
        box = document.createElement("div");
        box.className = "tabel";
        table.parentNode.insertBefore(box, table);
        box.appendChild(table);
      }
    });
    main.querySelectorAll(".tabel").forEach(mark);
  }
  tables();
  window.addEventListener("resize", tables);
  if (window.MutationObserver) new MutationObserver(function (changes) {
    if (changes.some(function (c) { return c.addedNodes.length; })) tables();
  }).observe(main, {childList: true, subtree: true});
})();
