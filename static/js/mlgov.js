/* mlgov: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  // After HTMX swaps a region, move focus to its first heading so keyboard and
  // screen-reader users land on the new content instead of losing their place.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || !target.hasAttribute("data-focus-on-swap")) {
      return;
    }
    var heading = target.querySelector("h2, h3, [data-focus-target]");
    if (heading) {
      if (!heading.hasAttribute("tabindex")) {
        heading.setAttribute("tabindex", "-1");
      }
      heading.focus({ preventScroll: false });
    }
  });
})();
