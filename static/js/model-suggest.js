/* mlgov: type-ahead for model choosers (apps/core/widgets.py: ModelSearchInput).
   Without this file the box is a plain search by name or slug. */
(function () {
  "use strict";
  if (window.mlgovModelSuggest) {
    return;
  }
  window.mlgovModelSuggest = true;

  function attach(input) {
    if (input.dataset.suggestReady) {
      return;
    }
    input.dataset.suggestReady = "1";
    var list = document.getElementById(input.getAttribute("list"));
    var timer = null;
    var last = null;
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var term = input.value.trim();
        if (!term || term === last || !list) {
          return;
        }
        last = term;
        var url = input.dataset.suggestUrl + "?q=" + encodeURIComponent(term);
        window
          .fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (response) {
            return response.ok ? response.json() : { results: [] };
          })
          .then(function (data) {
            list.replaceChildren();
            data.results.forEach(function (model) {
              var option = document.createElement("option");
              option.value = model.slug;
              option.label = model.name;
              option.textContent = model.name;
              list.appendChild(option);
            });
          })
          .catch(function () {});
      }, 200);
    });
  }

  window.mlgovEnhance(function (root) {
    if (root && root.querySelectorAll) {
      root.querySelectorAll("input[data-suggest-url]").forEach(attach);
    }
  });
})();
