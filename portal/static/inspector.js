// The flow inspector's "Copy the curl command" buttons. Without this script the buttons stay
// hidden and the commands stay selectable text.
(function () {
  "use strict";

  function reveal(root) {
    root.querySelectorAll("button[data-copy][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function copy(button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = button.nextElementSibling;
    if (!source) {
      return;
    }
    function done(message) {
      if (status && status.classList.contains("inspector-copied")) {
        status.textContent = message;
      }
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.textContent).then(
        function () { done("Copied."); },
        function () { selectText(source); done("Selected: press Ctrl+C or ⌘C to copy."); }
      );
    } else {
      selectText(source);
      done("Selected: press Ctrl+C or ⌘C to copy.");
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (button) {
      copy(button);
    }
  });
  document.addEventListener("DOMContentLoaded", function () { reveal(document); });
  document.addEventListener("htmx:load", function (event) { reveal(event.detail.elt); });
  if (document.readyState !== "loading") {
    reveal(document);
  }
})();
