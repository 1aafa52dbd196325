// Move the focus to what the server marked (an error summary, an error page's heading), after a
// full page load and after an htmx swap: a screen reader then reads what happened.
(function () {
  function focusMarked(root) {
    var target = (root || document).querySelector("[data-autofocus]");
    if (target) {
      target.focus();
    }
  }
  document.addEventListener("DOMContentLoaded", function () { focusMarked(document); });
  document.addEventListener("htmx:afterSettle", function (event) { focusMarked(event.target); });
})();

// A form the server marked to go on by itself (the logout's POST to the IdP): submit it once.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-autosubmit]");
  if (form) {
    form.submit();
  }
});
