/* The appeal form's enhancements; the form works without them.
   - a live character count for the text;
   - "use my location": navigator.geolocation into the hidden lat/lng fields, with a way to clear;
   - the chosen photos listed with previews, and early hints on count, size and type
     (the server checks them again: these only save a wasted upload);
   - the submit button is disabled once pressed, so a double tap sends one appeal.
   Messages come from data- attributes the template translates. */
(function () {
  "use strict";

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : all;
    });
  }

  // --- character count ---
  var text = document.getElementById("id_text");
  var count = document.getElementById("text-count");
  if (text && count) {
    var limit = parseInt(text.getAttribute("data-limit"), 10) || 5000;
    var showCount = function () {
      // Array.from counts characters as the server does, not UTF-16 halves of an emoji.
      var n = Array.from(text.value).length;
      var over = n - limit;
      count.textContent = over > 0
        ? fill(count.getAttribute("data-over"), { over: over, n: n, max: limit })
        : fill(count.getAttribute("data-template"), { n: n, max: limit });
      count.classList.toggle("over", over > 0);
    };
    count.hidden = false;
    text.setAttribute("aria-describedby",
      ((text.getAttribute("aria-describedby") || "") + " text-count").trim());
    text.addEventListener("input", showCount);
    showCount();
  }

  // --- location ---
  var box = document.getElementById("locate");
  var lat = document.getElementById("id_lat");
  var lng = document.getElementById("id_lng");
  var useButton = document.getElementById("locate-button");
  var clearButton = document.getElementById("locate-clear");
  var shown = document.getElementById("location-shown");
  if (box && lat && lng && useButton && clearButton && shown && "geolocation" in navigator) {
    var say = function (message) {
      shown.textContent = message;
      shown.hidden = !message;
    };
    var refresh = function () {
      var has = lat.value !== "" && lng.value !== "";
      clearButton.hidden = !has;
    };
    useButton.hidden = false;
    refresh();
    useButton.addEventListener("click", function () {
      useButton.disabled = true;
      say(box.getAttribute("data-working"));
      navigator.geolocation.getCurrentPosition(function (position) {
        lat.value = position.coords.latitude.toFixed(6);
        lng.value = position.coords.longitude.toFixed(6);
        say(fill(box.getAttribute("data-shown"), { lat: lat.value, lng: lng.value }));
        useButton.disabled = false;
        refresh();
      }, function (error) {
        say(box.getAttribute(error.code === 1 ? "data-denied" : "data-failed"));
        useButton.disabled = false;
        refresh();
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
    clearButton.addEventListener("click", function () {
      lat.value = "";
      lng.value = "";
      say("");
      refresh();
      useButton.focus();
    });
  }

  // --- photos ---
  var field = document.getElementById("photos-field");
  var input = document.getElementById("id_photos");
  var hint = document.getElementById("photos-hint");
  var list = document.getElementById("photos-list");
  if (field && input && hint && list) {
    var maxCount = parseInt(field.getAttribute("data-max-count"), 10) || 6;
    var maxBytes = parseInt(field.getAttribute("data-max-bytes"), 10) || 5242880;
    var previews = [];
    input.addEventListener("change", function () {
      previews.forEach(function (url) { URL.revokeObjectURL(url); });
      previews = [];
      list.textContent = "";
      var problems = [];
      var files = Array.from(input.files || []);
      if (files.length > maxCount) {
        problems.push(fill(field.getAttribute("data-too-many"), { max: maxCount }));
      }
      files.forEach(function (file) {
        var item = document.createElement("li");
        var bad = "";
        if (!/^image\//.test(file.type)) {
          bad = fill(field.getAttribute("data-not-image"), { name: file.name });
        } else if (file.size > maxBytes) {
          bad = fill(field.getAttribute("data-too-large"),
            { name: file.name, mb: Math.round(maxBytes / 1048576) });
        }
        if (bad) {
          problems.push(bad);
        } else {
          var img = document.createElement("img");
          var url = URL.createObjectURL(file);
          previews.push(url);
          img.src = url;
          img.alt = "";
          item.appendChild(img);
        }
        var name = document.createElement("span");
        name.textContent = file.name + " (" + (file.size < 1048576
          ? Math.max(1, Math.round(file.size / 1024)) + " KB"
          : (file.size / 1048576).toFixed(1) + " MB") + ")";
        if (bad) { name.className = "bad"; }
        item.appendChild(name);
        list.appendChild(item);
      });
      list.hidden = files.length === 0;
      hint.textContent = problems.join(" ");
      hint.hidden = problems.length === 0;
    });
  }

  // --- one submission per tap (and usable again after the back button) ---
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
  });
  var form = text ? text.form : null;
  if (form) {
    form.addEventListener("submit", function () {
      var buttons = form.querySelectorAll("button[type=submit]");
      window.setTimeout(function () {
        buttons.forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  }
})();
