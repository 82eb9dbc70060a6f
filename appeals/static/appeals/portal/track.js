/* The progress page's enhancements; every form works without them.
   Choosing 不满意 marks the comment as required and moves the cursor there;
   each action form is sent once however often its button is tapped. */
(function () {
  "use strict";
  var comment = document.getElementById("id_rate-comment");
  var radios = document.querySelectorAll("input[name='rate-rating']");
  if (comment && radios.length) {
    var update = function (focus) {
      var picked = document.querySelector("input[name='rate-rating']:checked");
      var unhappy = picked !== null && picked.value === "unsatisfied";
      comment.required = unhappy;
      comment.setAttribute("aria-required", unhappy ? "true" : "false");
      if (unhappy && focus) { comment.focus(); }
    };
    radios.forEach(function (radio) {
      radio.addEventListener("change", function () { update(true); });
    });
    update(false);
  }
  // Coming back with the browser's back button must not find the buttons still disabled.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
  });
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var buttons = form.querySelectorAll("button[type=submit]");
      window.setTimeout(function () {
        buttons.forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });
})();
