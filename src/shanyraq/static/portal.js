// Progressive enhancement only: every page works without JavaScript.
const script = document.querySelector("script[data-govuk]");
document.body.classList.add("js-enabled", "govuk-frontend-supported");
if (script) {
  import(script.dataset.govuk).then((govuk) => govuk.initAll()).catch(() => {});
}

// Filter forms marked with hx-get replace only their results (htmx). The count of the new
// results is read out through the page's status region, as a page load would show it.
document.addEventListener("htmx:afterSettle", () => {
  const announcer = document.getElementById("shq-announcer");
  const count = document.querySelector("[data-announce]");
  if (announcer) announcer.textContent = count ? count.textContent.trim() : "";
});
