// Progressive enhancement only: every page works without JavaScript.
const script = document.querySelector("script[data-govuk]");
document.body.classList.add("js-enabled", "govuk-frontend-supported");
if (script) {
  import(script.dataset.govuk).then((govuk) => govuk.initAll()).catch(() => {});
}
