// Hide a question while the earlier answer on the same page that it depends on says so.
// Without this script the question stays visible with its condition written out, and the
// server discards an answer whose condition does not hold.
(function () {
  "use strict";
  var form = document.querySelector("form.survey-page");
  if (!form) {
    return;
  }
  var dependants = form.querySelectorAll("fieldset[data-show-if]");
  function chosen(name) {
    var values = [];
    form.querySelectorAll('[name="' + name + '"]').forEach(function (input) {
      if ((input.type === "radio" || input.type === "checkbox") && !input.checked) {
        return;
      }
      values.push(input.value);
    });
    return values;
  }
  function update() {
    dependants.forEach(function (fieldset) {
      var values = chosen(fieldset.dataset.showIf);
      var wanted = fieldset.dataset.showValue;
      var show = fieldset.dataset.showOp === "contains"
        ? values.indexOf(wanted) !== -1
        : values.length === 1 && values[0] === wanted;
      fieldset.hidden = !show;
    });
  }
  form.addEventListener("change", update);
  update();
})();
