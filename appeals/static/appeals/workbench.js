/* 民声 workbench, appeals pages: small enhancements over pages that work without script.
   - deadline countdowns tick down while a working period is under way (the server computed
     the working time left; outside working hours the clock stands still, so nothing ticks);
   - the reply template picker fills the reply box without reloading the page;
   - a possible duplicate's "选用" button puts its code into the merge form. */
(function () {
  "use strict";

  var formats = document.getElementById("countdown-formats");

  function fill(pattern, h, m) {
    return pattern.replace("{h}", String(h)).replace("{m}", String(m));
  }

  function render(el, seconds) {
    var over = seconds < 0;
    var abs = Math.abs(seconds);
    var h = Math.floor(abs / 3600);
    var m = Math.floor((abs % 3600) / 60);
    var key = (over ? "over" : "left") + (h ? (m ? "Hm" : "H") : "M");
    var text = el.querySelector(".countdown-text");
    if (text && formats.dataset[key]) {
      text.textContent = fill(formats.dataset[key], h, m);
    }
    if (over && !el.classList.contains("countdown-overdue")) {
      el.classList.remove("countdown-ok", "countdown-warning");
      el.classList.add("countdown-overdue");
    }
  }

  function startCountdowns() {
    if (!formats) return;
    var day = parseInt(formats.dataset.day, 10) || 25200;
    var started = Date.now();
    var ticking = [];
    document.querySelectorAll(".countdown[data-ticking]").forEach(function (el) {
      var seconds = parseInt(el.dataset.seconds, 10);
      var window_ = parseInt(el.dataset.ticking, 10);
      // Only texts in hours and minutes change within a working period; day counts do not.
      if (window_ > 0 && Math.abs(seconds) < day) {
        ticking.push({ el: el, seconds: seconds, window: window_ });
      }
    });
    if (!ticking.length) return;
    setInterval(function () {
      var elapsed = Math.floor((Date.now() - started) / 1000);
      ticking.forEach(function (item) {
        render(item.el, item.seconds - Math.min(elapsed, item.window));
      });
    }, 30000);
  }

  function templatePicker() {
    var select = document.getElementById("reply-template");
    if (!select) return;
    var target = document.getElementById(select.dataset.target);
    var picker = document.getElementById("reply-template-picker");
    function insert() {
      var tpl = document.getElementById("reply-template-" + select.value);
      if (!tpl || !target) return;
      target.value = tpl.content.textContent;
      target.focus();
    }
    select.addEventListener("change", insert);
    if (picker) {
      picker.addEventListener("submit", function (event) {
        event.preventDefault();
        insert();
      });
    }
  }

  function duplicateButtons() {
    document.querySelectorAll(".wb-use-code").forEach(function (button) {
      var target = document.getElementById(button.dataset.target);
      if (!target) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        target.value = button.dataset.code;
        target.focus();
      });
    });
  }

  startCountdowns();
  templatePicker();
  duplicateButtons();
})();
