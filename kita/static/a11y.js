// Wide tables scroll sideways inside .table-scroll; make each such region reachable and
// scrollable by keyboard and name it for screen readers (its table's caption or the
// heading before it). Browsers without JavaScript make scroll containers focusable
// themselves, so this only adds the name and works on older browsers.
(function () {
  "use strict";
  function label(region) {
    var caption = region.querySelector("caption");
    if (caption && caption.textContent.trim()) return caption.textContent.trim();
    var el = region.previousElementSibling;
    while (el && !/^H[1-6]$/.test(el.tagName)) el = el.previousElementSibling;
    if (el) return el.textContent.trim();
    var heading = region.closest("section") && region.closest("section").querySelector("h2, h3");
    return heading ? heading.textContent.trim() : document.title;
  }
  function prepare() {
    var regions = document.querySelectorAll(".table-scroll");
    for (var i = 0; i < regions.length; i++) {
      var region = regions[i];
      if (region.hasAttribute("tabindex")) continue;
      region.setAttribute("tabindex", "0");
      if (!region.hasAttribute("role")) region.setAttribute("role", "region");
      if (!region.hasAttribute("aria-label") && !region.hasAttribute("aria-labelledby")) {
        region.setAttribute("aria-label", label(region));
      }
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", prepare);
  else prepare();
})();
