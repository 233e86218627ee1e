/* mlgov: the Approvals tab's request form offers, for the chosen kind, only the versions
   the approval engine would accept (the form's data-request-offers: {kind: [versions]}).
   Without this script every offered version stays selectable and the server refuses a
   combination it would not accept, with the reason. */
(function () {
  "use strict";

  function offersOf(form) {
    try {
      return JSON.parse(form.getAttribute("data-request-offers") || "{}");
    } catch (e) {
      return {};
    }
  }

  function update(form) {
    var kind = form.querySelector("select[name=kind]");
    var version = form.querySelector("select[name=version]");
    if (!kind || !version) {
      return;
    }
    var offers = offersOf(form);
    var allowed = offers[kind.value];
    version.disabled = !allowed; // a model-level request (retirement) names no version
    Array.prototype.forEach.call(version.options, function (option) {
      if (!option.value) {
        return;
      }
      var offered = !allowed || allowed.indexOf(option.value) !== -1;
      option.disabled = !offered;
      option.hidden = !offered;
      if (!offered && option.selected) {
        version.value = "";
      }
    });
  }

  function init(root) {
    Array.prototype.forEach.call(
      (root || document).querySelectorAll("form[data-request-offers]"),
      update
    );
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-request-offers]");
    if (form && event.target.name === "kind") {
      update(form);
    }
  });
  window.mlgovEnhance(init);
})();
