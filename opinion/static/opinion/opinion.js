// Keeps the response countdowns on the 舆情 desk current without reloading the page.
// The server renders the same text first, so the page reads correctly without script.
(function () {
  "use strict";
  var lang = document.documentElement.lang || "zh-hans";
  var zh = lang.indexOf("zh") === 0;

  function render(node) {
    var due = Date.parse(node.getAttribute("data-due"));
    if (isNaN(due)) return;
    var seconds = Math.round((due - Date.now()) / 1000);
    var late = seconds < 0;
    var minutes = Math.floor(Math.abs(seconds) / 60);
    var h = Math.floor(minutes / 60);
    var m = minutes % 60;
    var text = zh
      ? (late ? "已超时 " : "剩余 ") + h + " 小时 " + m + " 分"
      : (late ? "overdue by " : "") + h + " h " + m + " min" + (late ? "" : " left");
    var left = node.querySelector(".op-left");
    if (left) left.textContent = text;
    node.classList.toggle("late", late);
    node.classList.toggle("soon", !late && seconds < 3600);
  }

  function tick() {
    var nodes = document.querySelectorAll(".op-countdown[data-due]");
    for (var i = 0; i < nodes.length; i++) render(nodes[i]);
  }

  if (document.querySelector(".op-countdown[data-due]")) {
    setInterval(tick, 30000);
  }
})();
