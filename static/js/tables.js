/* A "CSV" download under every table of the site, written from the table as shown but with
   the exact values: a cell's [data-exact] values (what the number filters put beside the
   rounded text) are written instead of its text. Nothing leaves the browser: the file is
   made from the page the member is allowed to see. */
(function () {
  "use strict";
  function cellText(cell) {
    var exact = cell.querySelectorAll("[data-exact]");
    if (exact.length) {
      return Array.prototype.map.call(exact, function (e) { return e.dataset.exact; }).join(" ");
    }
    var copy = cell.cloneNode(true);
    copy.querySelectorAll(".sr").forEach(function (e) { e.remove(); });
    return copy.textContent.replace(/\s+/g, " ").trim();
  }
  function quote(v) { return /[",\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v; }
  function toCsv(table) {
    return Array.prototype.map.call(table.querySelectorAll("tr"), function (tr) {
      return Array.prototype.map.call(tr.children, function (c) { return quote(cellText(c)); }).join(",");
    }).join("\r\n") + "\r\n";
  }
  function slug(text) { return text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, ""); }
  function download(table, name) {
    var url = URL.createObjectURL(new Blob([toCsv(table)], {type: "text/csv;charset=utf-8"}));
    var a = document.createElement("a");
    a.href = url;
    a.download = name + ".csv";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }
  function init() {
    document.querySelectorAll("main table:not([data-csv-ready])").forEach(function (table, i) {
      if (!table.tHead) { return; }
      table.dataset.csvReady = "1";
      var name = table.dataset.csv || slug(document.title.split("·")[0]) + "-" + (i + 1);
      var button = document.createElement("button");
      button.type = "button";
      button.className = "link csv";
      button.textContent = "Download CSV";
      button.title = "This table with exact values";
      button.addEventListener("click", function () { download(table, name); });
      var after = table.parentElement.classList.contains("table-wrap") ? table.parentElement : table;
      after.insertAdjacentElement("afterend", button);
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
  document.addEventListener("riskgov:refreshed", init);
})();
