/* mlgov: the Print button of a standalone document read in the browser (the model card).
   The button is hidden in the markup, so where this file does not run no dead button shows;
   the browser's own Print (Ctrl+P) always works. No inline handler: the document's policy
   runs only mlgov's own script files. */
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("button[data-print]"), function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  });
})();
