(function () {
  var box = document.getElementById("filter");
  if (!box) return;
  var rows = document.querySelectorAll("#findings tbody tr");
  var count = document.getElementById("shown");
  function apply() {
    var q = box.value.toLowerCase(), n = 0;
    for (var i = 0; i < rows.length; i++) {
      var hit = rows[i].textContent.toLowerCase().indexOf(q) >= 0;
      rows[i].hidden = !hit;
      if (hit) n++;
    }
    count.textContent = String(n);
  }
  box.addEventListener("input", apply);
  var links = document.querySelectorAll("a[data-filter]");
  for (var i = 0; i < links.length; i++) {
    links[i].addEventListener("click", function (ev) {
      box.value = this.getAttribute("data-filter");
      apply();
    });
  }
  apply();
})();
