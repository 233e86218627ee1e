/* mlgov: humane forms. Every form works without this file; it only adds:
   - a confirmation before a signed production change (form[data-confirm]);
   - slugs filled in from the name as it is typed (input[data-slug-from]), never over a slug
     the user typed;
   - key/value rows instead of raw JSON (textarea[data-kv-editor]); the rows are written back
     into the textarea as the same JSON object, so the server receives what it always did. */
(function () {
  "use strict";
  if (window.mlgovForms) {
    return;
  }
  window.mlgovForms = true;

  // --- confirmation of a production change ---------------------------------------------

  // data-confirm: the question; "{choice}" is replaced by the chosen option's label.
  // data-confirm-field + data-confirm-values: ask only when that field holds one of them.
  function confirmation(form) {
    var fieldName = form.getAttribute("data-confirm-field");
    var choice = "";
    if (fieldName) {
      var field = form.elements[fieldName];
      if (!field) {
        return null;
      }
      var values = (form.getAttribute("data-confirm-values") || "").split(/\s+/).filter(Boolean);
      if (values.length && values.indexOf(field.value) === -1) {
        return null;
      }
      if (!field.value) {
        return null; // nothing chosen yet: the server says so
      }
      choice = field.options ? field.options[field.selectedIndex].text : field.value;
    }
    return form.getAttribute("data-confirm").split("{choice}").join(choice);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-confirm")) {
      return;
    }
    var question = confirmation(form);
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // --- slugs from names ------------------------------------------------------------------

  function slugify(text, max) {
    var slug = text
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "");
    if (max > 0 && slug.length > max) {
      slug = slug.slice(0, max).replace(/-+$/, "");
    }
    return slug;
  }

  function attachSlug(input) {
    if (input.dataset.slugReady) {
      return;
    }
    var form = input.form;
    var source = form && form.elements[input.getAttribute("data-slug-from")];
    if (!source) {
      return;
    }
    input.dataset.slugReady = "1";
    var max = parseInt(input.getAttribute("maxlength") || "0", 10);
    // A slug already there (typed, or sent back with an error) is the user's: keep it.
    var typed = input.value !== "" && input.value !== slugify(source.value, max);
    input.addEventListener("input", function () {
      typed = input.value !== "";
    });
    source.addEventListener("input", function () {
      if (!typed) {
        input.value = slugify(source.value, max);
      }
    });
  }

  // --- key/value rows for a JSON object ------------------------------------------------

  // A value as typed becomes what it would be in the JSON textarea: a number, true, false,
  // null, an array or object when it reads as one, else text.
  function parseValue(text) {
    var trimmed = text.trim();
    if (trimmed === "") {
      return "";
    }
    if (/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(trimmed)) {
      return Number(trimmed);
    }
    if (trimmed === "true" || trimmed === "false" || trimmed === "null") {
      return JSON.parse(trimmed);
    }
    if (/^[[{"]/.test(trimmed)) {
      try {
        return JSON.parse(trimmed);
      } catch (error) {
        return text;
      }
    }
    return text;
  }

  function showValue(value) {
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  function attachKeyValue(textarea) {
    if (textarea.dataset.kvReady) {
      return;
    }
    var initial = {};
    if (textarea.value.trim() !== "") {
      try {
        initial = JSON.parse(textarea.value);
      } catch (error) {
        return; // not JSON (sent back with an error): the textarea and its message stay
      }
      if (!initial || typeof initial !== "object" || Array.isArray(initial)) {
        return;
      }
    }
    textarea.dataset.kvReady = "1";
    var keyLabel = textarea.getAttribute("data-kv-key-label") || "Name";
    var valueLabel = textarea.getAttribute("data-kv-value-label") || "Value";
    var fieldLabel = textarea.labels && textarea.labels[0] ? textarea.labels[0].textContent : "";

    var editor = document.createElement("div");
    editor.className = "kv-editor";
    editor.setAttribute("role", "group");
    if (textarea.labels && textarea.labels[0]) {
      textarea.labels[0].id = textarea.labels[0].id || textarea.id + "_label";
      editor.setAttribute("aria-labelledby", textarea.labels[0].id);
    }
    var table = document.createElement("table");
    table.className = "kv-editor__rows";
    var head = table.createTHead().insertRow();
    [keyLabel, valueLabel, ""].forEach(function (text) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = text;
      head.appendChild(th);
    });
    var body = table.createTBody();
    var problem = document.createElement("p");
    problem.className = "kv-editor__problem error";
    problem.setAttribute("role", "status");
    var add = document.createElement("button");
    add.type = "button";
    add.className = "button button--secondary button--small";
    add.textContent = "Add a row";
    var raw = document.createElement("button");
    raw.type = "button";
    raw.className = "button button--secondary button--small";
    raw.textContent = "Edit as JSON";
    var actions = document.createElement("div");
    actions.className = "kv-editor__actions";
    actions.appendChild(add);
    actions.appendChild(raw);

    function write() {
      var data = {};
      var duplicates = [];
      Array.prototype.forEach.call(body.rows, function (row) {
        var inputs = row.querySelectorAll("input");
        var key = inputs[0].value.trim();
        if (key === "") {
          return;
        }
        if (Object.prototype.hasOwnProperty.call(data, key)) {
          duplicates.push(key);
        }
        data[key] = parseValue(inputs[1].value);
      });
      textarea.value = Object.keys(data).length ? JSON.stringify(data, null, 2) : "";
      problem.textContent = duplicates.length
        ? "Named twice, the last row counts: " + duplicates.join(", ")
        : "";
    }

    function addRow(key, value) {
      var row = body.insertRow();
      var n = body.rows.length;
      [
        [key, keyLabel],
        [value, valueLabel],
      ].forEach(function (pair) {
        var cell = row.insertCell();
        var input = document.createElement("input");
        input.type = "text";
        input.value = pair[0];
        input.spellcheck = false;
        input.setAttribute("aria-label", fieldLabel.trim() + ": " + pair[1] + " " + n);
        input.addEventListener("input", write);
        cell.appendChild(input);
      });
      var cell = row.insertCell();
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "button button--secondary button--small";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", "Remove row " + n);
      remove.addEventListener("click", function () {
        row.remove();
        write();
        add.focus();
      });
      cell.appendChild(remove);
      return row;
    }

    Object.keys(initial).forEach(function (key) {
      addRow(key, showValue(initial[key]));
    });
    if (!body.rows.length) {
      addRow("", "");
    }
    add.addEventListener("click", function () {
      addRow("", "").querySelector("input").focus();
    });
    raw.addEventListener("click", function () {
      write();
      editor.remove();
      textarea.hidden = false;
      textarea.focus();
    });

    editor.appendChild(table);
    editor.appendChild(problem);
    editor.appendChild(actions);
    textarea.hidden = true;
    textarea.parentNode.insertBefore(editor, textarea.nextSibling);
  }

  window.mlgovEnhance(function (root) {
    if (!root || !root.querySelectorAll) {
      return;
    }
    root.querySelectorAll("input[data-slug-from]").forEach(attachSlug);
    root.querySelectorAll("textarea[data-kv-editor]").forEach(attachKeyValue);
  });
})();
