/* mlgov: searchable selects (apps/core/widgets.py: SearchSelect, SearchSelectMultiple) on
   Tom Select (static/vendor/tom-select.complete.min.js).
   - <select data-choices="remote"> (one or several) asks its data-suggest-url for
     {"results": [{"value", "label"}]} as the user types; the page only holds the options
     already chosen. Without this file the select keeps its chosen options.
   - <select data-choices="local"> (short lists: people, a model's metrics) searches the
     options already in the page; an empty option ("Nobody", "All versions") stays a choice.
     Without this file it is an ordinary select. */
(function () {
  "use strict";
  if (window.mlgovChoices) {
    return;
  }
  window.mlgovChoices = true;

  // Each answer replaces the options loaded before (the chosen ones stay): the server has
  // already matched them, so they are shown as they come, not filtered again here. An answer
  // overtaken by a later query is dropped.
  function remoteLoader(url) {
    var latest = 0;
    return function (query, callback) {
      var self = this;
      var ticket = ++latest;
      window
        .fetch(url + "?q=" + encodeURIComponent(query), {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        })
        .then(function (response) {
          return response.ok ? response.json() : { results: [] };
        })
        .then(function (data) {
          if (ticket !== latest) {
            callback(); // an answer to an earlier query, overtaken by this one
            return;
          }
          self.clearOptions();
          callback(data.results);
        })
        .catch(function () {
          callback();
        });
    };
  }

  function attach(select) {
    if (select.tomselect || typeof window.TomSelect !== "function") {
      return;
    }
    var remote = select.dataset.choices === "remote";
    var empty = select.querySelector('option[value=""]');
    var settings = {
      plugins: select.multiple ? ["remove_button"] : [],
      maxOptions: remote ? 50 : null,
      hidePlaceholder: select.multiple,
      placeholder: select.dataset.placeholder || (empty ? empty.textContent : ""),
      // A single select's empty option is a real answer ("Nobody"), kept choosable.
      allowEmptyOption: !select.multiple && !!empty,
      closeAfterSelect: !select.multiple,
      render: {
        no_results: function () {
          var div = document.createElement("div");
          div.className = "no-results";
          div.textContent = "Nothing matches";
          return div;
        },
      },
    };
    if (select.hasAttribute("data-allow-create")) {
      // A name typed that is not among the options is sent as typed; the server checks it.
      settings.create = true;
      settings.persist = false;
      settings.render.option_create = function (data, escape) {
        var div = document.createElement("div");
        div.className = "create";
        div.textContent = "Use \u201c" + data.input + "\u201d";
        return div;
      };
    }
    if (remote) {
      settings.valueField = "value";
      settings.labelField = "label";
      settings.searchField = ["label"];
    }
    if (remote && select.dataset.suggestUrl) {
      settings.load = remoteLoader(select.dataset.suggestUrl);
      settings.preload = "focus";
      settings.loadThrottle = 200;
      settings.score = function () {
        return function () {
          return 1;
        };
      };
      settings.shouldLoad = function () {
        return true;
      };
    }
    new window.TomSelect(select, settings);
    // Tom Select points the field's <label for> at its own search box (naming the label
    // "<id>-ts-label"); the original select, hidden but still read by assistive technology,
    // keeps the field's name through aria-labelledby, or leaves the tree when it has none.
    var label = document.getElementById(select.id + "-ts-label");
    if (label) {
      select.setAttribute("aria-labelledby", label.id);
    } else if (!select.hasAttribute("aria-label") && !select.hasAttribute("aria-labelledby")) {
      select.setAttribute("aria-hidden", "true");
    }
  }

  window.mlgovEnhance(function (root) {
    if (root && root.querySelectorAll) {
      root.querySelectorAll("select[data-choices]").forEach(attach);
    }
  });
})();
