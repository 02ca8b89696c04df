// Sorts a table.sortable by the clicked column: numerically when every non-empty cell of the
// column is a number, else as text; empty cells (a failed trial's fitness) last either way.
// A cell's data-v attribute, when present, is its value for sorting (the full number).
(function () {
  "use strict";
  function key(cell) {
    var v = cell.getAttribute("data-v");
    return (v === null ? cell.textContent : v).trim();
  }
  function numeric(rows, col) {
    var seen = false;
    for (var i = 0; i < rows.length; i++) {
      var v = key(rows[i].cells[col]);
      if (v === "") { continue; }
      if (isNaN(Number(v))) { return false; }
      seen = true;
    }
    return seen;
  }
  function sortTable(table, col) {
    var heads = table.tHead.rows[0].cells, th = heads[col];
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
    var isNumber = numeric(rows, col);
    var collator = new Intl.Collator(undefined, {numeric: true, sensitivity: "base"});
    var items = rows.map(function (row, index) { return {row: row, key: key(row.cells[col]), index: index}; });
    items.sort(function (a, b) {
      var emptyA = a.key === "", emptyB = b.key === "";
      if (emptyA || emptyB) { return emptyA === emptyB ? a.index - b.index : (emptyA ? 1 : -1); }
      var c = isNumber ? Number(a.key) - Number(b.key) : collator.compare(a.key, b.key);
      c = c || 0;
      return c === 0 ? a.index - b.index : (ascending ? c : -c);
    });
    items.forEach(function (item) { body.appendChild(item.row); });
    for (var i = 0; i < heads.length; i++) { heads[i].removeAttribute("aria-sort"); }
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.tabIndex = 0;
      th.title = "sort by this column";
      th.addEventListener("click", function () { sortTable(table, col); });
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortTable(table, col); }
      });
    });
  });
})();
