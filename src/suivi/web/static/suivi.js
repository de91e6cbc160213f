// After htmx replaces a card, move the keyboard focus to what the user must read next: the
// first field in error, or the « Mise à jour enregistrée » message (the old focus is gone).
document.addEventListener("htmx:afterSettle", function () {
  var target = document.querySelector("[data-autofocus]");
  if (target) {
    target.removeAttribute("data-autofocus");
    target.focus();
  }
});

// Decision entry during a meeting: Ctrl+Entrée (or Cmd+Entrée) in a field saves the decision.
document.addEventListener("keydown", function (event) {
  var form = event.target.closest ? event.target.closest("form.decision-form") : null;
  if (form && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    form.requestSubmit();
  }
});
