/* mlgov: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  // Menus that fold: a button[data-disclosure] shows and hides the element its
  // aria-controls names (the header's Menu on narrow screens, the account menu). The
  // markup starts open, so without this script every link stays reachable; the CSS folds
  // an element only while it has .is-collapsed (the header's menu only on narrow screens).
  document.documentElement.classList.add("js");

  // mlgovEnhance(attach): the one way the page scripts (choices.js, forms.js,
  // model-suggest.js, request-offers.js) find their elements: attach(document) once the page
  // is parsed, and attach(element) for each region HTMX loads later. Deferred scripts run in
  // document order, so this file (first in the head) defines it before they use it.
  window.mlgovEnhance = function (attach) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", function () {
        attach(document);
      });
    } else {
      attach(document);
    }
    document.addEventListener("htmx:load", function (event) {
      attach(event.target);
    });
  };

  function disclosures() {
    return Array.prototype.slice.call(document.querySelectorAll("button[data-disclosure]"));
  }

  function targetOf(button) {
    return document.getElementById(button.getAttribute("aria-controls"));
  }

  function setOpen(button, open) {
    var target = targetOf(button);
    if (!target) {
      return;
    }
    button.setAttribute("aria-expanded", open ? "true" : "false");
    target.classList.toggle("is-collapsed", !open);
  }

  function closePopups(except) {
    disclosures().forEach(function (button) {
      var target = targetOf(button);
      if (button !== except && target && target.hasAttribute("data-close-outside")) {
        setOpen(button, false);
      }
    });
  }

  function initDisclosures() {
    disclosures().forEach(function (button) {
      setOpen(button, false);
      button.addEventListener("click", function () {
        var open = button.getAttribute("aria-expanded") !== "true";
        closePopups(button);
        setOpen(button, open);
      });
    });
    // A popup (the account menu) closes on a click elsewhere and on Escape, which returns
    // focus to its button.
    document.addEventListener("click", function (event) {
      disclosures().forEach(function (button) {
        var target = targetOf(button);
        if (
          target &&
          target.hasAttribute("data-close-outside") &&
          !button.contains(event.target) &&
          !target.contains(event.target)
        ) {
          setOpen(button, false);
        }
      });
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") {
        return;
      }
      disclosures().forEach(function (button) {
        var target = targetOf(button);
        if (button.getAttribute("aria-expanded") === "true" && target) {
          var inside = target.contains(document.activeElement);
          setOpen(button, false);
          if (inside || document.activeElement === button) {
            button.focus();
          }
        }
      });
    });
  }

  // A table or chart wider than its card scrolls inside it; a keyboard user reaches that
  // scrolling box with Tab (tabindex=0) only while it actually scrolls.
  var SCROLLERS = ".table-wrap, table.data, table.changes, table.compare, figure";

  function markScrollers() {
    document.querySelectorAll(SCROLLERS).forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1 &&
        /auto|scroll/.test(getComputedStyle(box).overflowX);
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("data-scroll-focus", "");
      } else if (!scrolls && box.hasAttribute("data-scroll-focus")) {
        box.removeAttribute("tabindex");
        box.removeAttribute("data-scroll-focus");
      }
    });
  }

  function init() {
    initDisclosures();
    markScrollers();
    var pending = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(markScrollers, 100);
    });
    document.addEventListener("htmx:afterSettle", markScrollers);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }

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
