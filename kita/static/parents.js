// Application form: pre-select the care type from the child's age at the start date.
// Without JavaScript the server does the same on submit.
(function () {
  "use strict";
  var form = document.getElementById("application-form");
  if (!form) { return; }
  var child = document.getElementById("child_id");
  var start = document.getElementById("start_date");
  var care = document.getElementById("care_type");
  if (!start || !care) { return; }
  var touched = false;
  care.addEventListener("change", function () { touched = true; });

  function birthDate() {
    if (child && child.tagName === "SELECT") {
      var opt = child.options[child.selectedIndex];
      return opt ? opt.getAttribute("data-birth") : null;
    }
    return null;
  }

  function months(birth, day) {
    var b = new Date(birth + "T00:00:00"), d = new Date(day + "T00:00:00");
    var m = (d.getFullYear() - b.getFullYear()) * 12 + d.getMonth() - b.getMonth();
    if (d.getDate() < b.getDate()) { m -= 1; }
    return m;
  }

  function suggest() {
    var birth = birthDate();
    if (touched || !birth || !start.value) { return; }
    var m = months(birth, start.value);
    var value = "";
    if (m >= 0 && m < 36) { value = "krippe"; }
    else if (m >= 36 && m < 72) { value = "kindergarten"; }
    else if (m >= 72 && m < 168) { value = "hort"; }
    care.value = value;
  }

  if (child) { child.addEventListener("change", suggest); }
  start.addEventListener("change", suggest);
}());
